"""The read-only admin of records that only services write (runs, reports, predictions).

One rule for all of them: staff can read; nobody adds or edits; only superusers delete, so that
clean-up stays possible but an audit trail is never edited by accident.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)


RUN_RECORD_FIELDS: tuple[str, ...] = (
    "status",
    "error",
    "note",
    "timings",
    "trace_id",
    "created_at",
    "started_at",
    "finished_at",
    "seconds",
)


PROBABILITY_PLACES = 4


def rounded(field: str, *, description: str | None = None, places: int = PROBABILITY_PLACES) -> Any:
    """An admin column (``list_display`` / ``readonly_fields``) showing float ``field`` with ``places``
    decimals: a probability read to 16 decimals says nothing more and hides the digits that matter."""

    @admin.display(description=description or field.replace("_", " "), ordering=field)
    def show(obj: Any) -> str:
        value = getattr(obj, field)
        return "-" if value is None else f"{value:.{places}f}"

    show.__name__ = f"{field}_rounded"
    return show
