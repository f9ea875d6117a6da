"""Monitoring admin: reports are read-only records; staff acknowledge alerts with an action."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from common.admin import ReadOnlyAdmin
from common.formatting import fmt_number
from monitoring import services
from monitoring.models import Alert, DriftReport, PerformanceReport


@admin.register(DriftReport)
class DriftReportAdmin(ReadOnlyAdmin):
    list_display = ("date", "model_version", "status", "max_psi_shown", "drifted", "n_current", "window_days")
    list_filter = ("status", "retrain_needed")
    date_hierarchy = "date"
    exclude = ("result",)
    readonly_fields = ("feature_table",)

    @admin.display(description="max PSI", ordering="max_psi")
    def max_psi_shown(self, obj: DriftReport) -> str:
        return fmt_number(obj.max_psi)

    @admin.display(description="drifted features")
    def drifted(self, obj: DriftReport) -> str:
        return ", ".join(obj.drifted_features[:5]) or "-"

    @admin.display(description="per feature (sample-size-aware noise limit beside the fixed 0.1 / 0.25)")
    def feature_table(self, obj: DriftReport) -> str:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    f.name,
                    fmt_number(f.psi, "{:.4f}"),
                    fmt_number(f.psi_critical, "{:.4f}"),
                    fmt_number(f.ks_statistic),
                    fmt_number(f.ks_pvalue, "{:.4f}"),
                    f.n_current,
                    f"{f.missing_share_current:.1%}",
                    f.status.value,
                )
                for f in sorted(obj.drift_result().features, key=lambda f: -f.psi)
            ),
        )
        return format_html(
            "<table><tr><th>feature</th><th>PSI</th><th>noise limit</th><th>KS</th><th>KS p</th><th>rows</th>"
            "<th>missing</th><th>status</th></tr>{}</table>",
            rows,
        )


@admin.register(PerformanceReport)
class PerformanceReportAdmin(ReadOnlyAdmin):
    list_display = (
        "as_of",
        "model_version",
        "realised_f1",
        "test_f1",
        "estimate",
        "positives",
        "action",
        "rolled_back_to",
    )
    list_filter = ("action",)
    date_hierarchy = "as_of"

    @admin.display(description="realised F1", ordering="f1")
    def realised_f1(self, obj: PerformanceReport) -> str:
        return fmt_number(obj.f1)

    @admin.display(description="test F1")
    def test_f1(self, obj: PerformanceReport) -> str:
        return fmt_number(obj.reference_f1)

    @admin.display(description="F1 estimate (no labels yet)")
    def estimate(self, obj: PerformanceReport) -> str:
        return "-" if obj.estimated_f1 is None else f"~{obj.estimated_f1:.3f} (estimate, {obj.estimated_for})"


class OpenFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "Open"), ("acknowledged", "Acknowledged")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Alert]) -> QuerySet[Alert]:
        if self.value() == "open":
            return queryset.filter(acknowledged_at__isnull=True)
        if self.value() == "acknowledged":
            return queryset.filter(acknowledged_at__isnull=False)
        return queryset


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin[Alert]):
    list_display = ("created_at", "severity", "kind", "message", "occurrences", "delivery", "state")
    list_filter = (OpenFilter, "kind", "severity")
    search_fields = ("message", "dedupe_key")
    actions = ["acknowledge"]
    readonly_fields = [f.name for f in Alert._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="state")
    def state(self, obj: Alert) -> str:
        if obj.is_open:
            return "open"
        return f"acknowledged by {obj.acknowledged_by or '?'}"

    @admin.action(description="Acknowledge selected alerts", permissions=["change"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        changed = services.alert_acknowledge(alerts=queryset, user=request.user)  # type: ignore[arg-type]
        self.message_user(request, f"{changed} alert(s) acknowledged.", messages.SUCCESS)
