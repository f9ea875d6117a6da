from __future__ import annotations

from django.contrib import admin

from common.admin import ReadOnlyAdmin
from marketdata.models import DailyBar, IngestRun, Instrument, PriceBand


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin[Instrument]):
    list_display = ("symbol", "exchange", "series", "name", "isin", "active")
    list_filter = ("exchange", "series", "active")
    search_fields = ("symbol", "name", "isin")
    ordering = ("exchange", "symbol")


@admin.register(DailyBar)
class DailyBarAdmin(admin.ModelAdmin[DailyBar]):
    list_display = ("instrument", "date", "series", "open", "high", "low", "close", "prev_close", "volume")
    list_filter = ("instrument__exchange", "series", "date")
    search_fields = ("instrument__symbol", "instrument__isin")
    date_hierarchy = "date"
    list_select_related = ("instrument",)
    raw_id_fields = ("instrument",)
    show_full_result_count = False  # counting millions of bars on every page view is slow


@admin.register(IngestRun)
class IngestRunAdmin(ReadOnlyAdmin):
    list_display = (
        "source",
        "layout",
        "trade_date",
        "status",
        "rows_inserted",
        "rows_updated",
        "rows_rejected",
        "seconds",
        "created_at",
    )
    list_filter = ("status", "layout")
    search_fields = ("source", "sha256")
    readonly_fields = [f.name for f in IngestRun._meta.fields]


@admin.register(PriceBand)
class PriceBandAdmin(admin.ModelAdmin[PriceBand]):
    """Band history: loaded from exchange files (``ingest_bands``); staff may add a manual row."""

    list_display = ("instrument", "effective_from", "band", "source", "source_file", "created_at")
    list_filter = ("band", "source")
    search_fields = ("instrument__symbol",)
    date_hierarchy = "effective_from"
    raw_id_fields = ("instrument",)
    list_select_related = ("instrument",)
