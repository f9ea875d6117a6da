from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from common.admin import ReadOnlyAdmin
from marketdata import services
from marketdata.models import DailyBar, FetchRun, IngestRun, Instrument, PriceBand, TradingSession


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


@admin.register(TradingSession)
class TradingSessionAdmin(admin.ModelAdmin[TradingSession]):
    """Days NSE and BSE traded that the XBOM calendar does not list. Staff list, add and remove them;
    the daily tasks and ingestion read them beside the calendar."""

    list_display = ("date", "kind", "note", "source", "created_at")
    list_filter = ("kind",)
    search_fields = ("note", "source")
    date_hierarchy = "date"
    fields = ("date", "kind", "note")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A session is a date: to correct one, remove it and add the right date.
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: TradingSession, form: Any, change: bool) -> None:
        saved = services.trading_session_add(
            date=obj.date, kind=obj.kind, note=obj.note, source=f"admin: {request.user.get_username()}"
        )
        obj.pk, obj.source, obj.created_at = saved.pk, saved.source, saved.created_at

    def delete_model(self, request: HttpRequest, obj: TradingSession) -> None:
        services.trading_session_remove(date=obj.date)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[TradingSession]) -> None:
        for day in list(queryset.values_list("date", flat=True)):
            services.trading_session_remove(date=day)


@admin.register(FetchRun)
class FetchRunAdmin(ReadOnlyAdmin):
    list_display = ("trade_date", "exchange", "status", "attempts", "http_status", "size", "seconds", "created_at")
    list_filter = ("status", "exchange")
    search_fields = ("url", "path", "sha256")
    date_hierarchy = "trade_date"
    readonly_fields = [f.name for f in FetchRun._meta.fields]
