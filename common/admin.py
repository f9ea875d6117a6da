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
