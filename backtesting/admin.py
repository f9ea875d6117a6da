"""Backtesting admin: runs are read-only records (the commands and tasks write them), linked to their
staff pages and reports.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from backtesting.models import BacktestRun, ComparisonRun, WalkForwardFold, WalkForwardRun
from common.admin import ReadOnlyAdmin
from common.formatting import fmt_number


@admin.register(BacktestRun)
class BacktestRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "source",
        "model_version",
        "start",
        "end",
        "status",
        "n_trades",
        "sharpe_",
        "dsr",
        "runs",
        "report",
    )
    list_filter = ("status", "source")
    search_fields = ("model_key", "fingerprint")
    exclude = ("series", "trades")

    @admin.display(description="Sharpe")
    def sharpe_(self, obj: BacktestRun) -> str:
        return fmt_number(obj.sharpe, "{:.2f}")

    @admin.display(description="Deflated Sharpe")
    def dsr(self, obj: BacktestRun) -> str:
        return fmt_number(obj.deflated_sharpe)

    @admin.display(description="Report")
    def report(self, obj: BacktestRun) -> str:
        return format_html('<a href="{}">staff page</a>', reverse("staff:backtest", args=[obj.pk]))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f for f in super().get_readonly_fields(request, obj) if f not in self.exclude]


class WalkForwardFoldInline(admin.TabularInline[WalkForwardFold, WalkForwardRun]):
    model = WalkForwardFold
    extra = 0
    can_delete = False
    fields = (
        "index",
        "status",
        "train_start",
        "train_end",
        "test_start",
        "test_end",
        "threshold",
        "f1",
        "pr_auc",
        "hit_today_f1",
        "hit_today_pr_auc",
        "seconds",
        "error",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WalkForwardRun)
class WalkForwardRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "algorithm",
        "feature_set",
        "start",
        "folds",
        "status",
        "mean_f1_",
        "consistency_",
        "seconds",
        "page",
    )
    list_filter = ("status", "algorithm", "feature_set")
    inlines = (WalkForwardFoldInline,)

    @admin.display(description="Mean F1")
    def mean_f1_(self, obj: WalkForwardRun) -> str:
        return fmt_number(obj.mean_f1)

    @admin.display(description="Consistency")
    def consistency_(self, obj: WalkForwardRun) -> str:
        return "-" if obj.consistency is None else f"{obj.consistency:.0%}"

    @admin.display(description="Staff page")
    def page(self, obj: WalkForwardRun) -> str:
        return format_html('<a href="{}">folds</a>', reverse("staff:walk-forward", args=[obj.pk]))


@admin.register(ComparisonRun)
class ComparisonRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "label_a", "label_b", "start", "end", "status", "pvalue", "page")
    list_filter = ("status", "kind")

    @admin.display(description="McNemar p")
    def pvalue(self, obj: ComparisonRun) -> str:
        return fmt_number((obj.mcnemar or {}).get("pvalue"), "{:.4f}")

    @admin.display(description="Staff page")
    def page(self, obj: ComparisonRun) -> str:
        return format_html('<a href="{}">comparison</a>', reverse("staff:comparison", args=[obj.pk]))
