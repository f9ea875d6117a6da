"""Instruments and their daily bars: the platform's source of truth for prices."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.db import models

from common.models import RunRecord
from marketdata.choices import BandPercent, BandSource, Exchange, SessionKind


class Instrument(models.Model):
    """A listed equity. NSE symbols are tickers; BSE instruments use the scrip code as symbol."""

    symbol = models.CharField(max_length=64)
    exchange = models.CharField(max_length=3, choices=Exchange.choices, default=Exchange.NSE)
    series = models.CharField(max_length=4, blank=True, help_text="Latest trading series, e.g. EQ, BE, SM.")
    isin = models.CharField(max_length=12, blank=True)
    name = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["exchange", "symbol"], name="instrument_unique_exchange_symbol"),
        ]
        indexes = [models.Index(fields=["active", "exchange"], name="instrument_active_exchange")]
        ordering = ["exchange", "symbol"]

    def __str__(self) -> str:
        return f"{self.exchange}:{self.symbol}"


class DailyBar(models.Model):
    """One instrument's trading day, prices in rupees as published (not split-adjusted)."""

    # No index of its own: the unique (instrument, date) index leads with instrument_id and serves
    # every lookup by instrument; a second index only doubled the cost of each bar written.
    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="bars", db_index=False)
    date = models.DateField()
    series = models.CharField(max_length=4, blank=True)
    open = models.FloatField()
    high = models.FloatField()
    low = models.FloatField()
    close = models.FloatField()
    last = models.FloatField(null=True, blank=True)
    prev_close = models.FloatField(null=True, blank=True)
    volume = models.BigIntegerField()
    turnover = models.FloatField(null=True, blank=True, help_text="Traded value in rupees.")
    trades = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["instrument", "date"], name="dailybar_unique_instrument_date"),
        ]
        indexes = [models.Index(fields=["date"], name="dailybar_date")]
        ordering = ["instrument_id", "date"]

    def __str__(self) -> str:
        return f"{self.instrument_id}@{self.date}"


class PriceBand(models.Model):
    """The band an instrument trades under from ``effective_from`` until its next row: always read
    as of a date (``marketdata.selectors.bands_panel``), never as "today's band for every date"."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="price_bands")
    effective_from = models.DateField()
    band = models.PositiveSmallIntegerField(choices=BandPercent.choices, help_text="Percent; 0 means no band.")
    source = models.CharField(max_length=16, choices=BandSource.choices, default=BandSource.EXCHANGE_FILE)
    source_file = models.CharField(max_length=500, blank=True, help_text="The band file it was loaded from.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["instrument", "effective_from"], name="priceband_unique_instrument_date")
        ]
        ordering = ["instrument_id", "-effective_from"]

    def __str__(self) -> str:
        return f"{self.instrument_id} {self.band}% from {self.effective_from}"


class TradingSession(models.Model):
    """A day NSE and BSE traded although the XBOM calendar lists it as a holiday or weekend.

    ``marketdata.sessions.is_trading_session`` and ingestion read these rows beside the calendar.
    Ingestion adds a row when a file dated on such a day is not a repeat of the previous session;
    staff add and remove rows in admin; a data migration ships the known ones.
    """

    date = models.DateField(unique=True)
    kind = models.CharField(max_length=16, choices=SessionKind.choices, default=SessionKind.MANUAL)
    note = models.TextField(blank=True, help_text="What the session was, or what the data showed.")
    source = models.CharField(max_length=500, blank=True, help_text="The file it was found in, or who added it.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date"]

    def __str__(self) -> str:
        return f"{self.date} ({self.get_kind_display()})"


class IngestRun(RunRecord):
    """One file loaded (or refused): what it was, what it did, and why it failed if it did."""

    # The daily task's hard limit is 10 min, a command's load of a multi-year file a few minutes,
    # and a file's load is one transaction, so nothing shows progress meanwhile.
    stall_after: ClassVar[dt.timedelta | None] = dt.timedelta(minutes=60)
    stall_hint: ClassVar[str] = "Load the file again: ingestion is idempotent."

    source = models.CharField(max_length=500, help_text="Path of the file (or zip member).")
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    layout = models.CharField(max_length=32, blank=True)
    trade_date = models.DateField(null=True, blank=True, help_text="Single trading date, when the file has one.")
    rows_read = models.PositiveIntegerField(default=0)
    rows_inserted = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    rows_skipped = models.PositiveIntegerField(default=0, help_text="Rows outside the equity series kept.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["-created_at"], name="ingestrun_created")]

    def __str__(self) -> str:
        return f"{self.source} ({self.status})"


class FetchRun(RunRecord):
    """One exchange's daily bhavcopy downloaded into the inbox (or not): one row per exchange and day."""

    # Every attempt saves the row; attempts are at most VCP_FETCH_BACKOFF_MAX_SECONDS apart.
    stall_after: ClassVar[dt.timedelta | None] = dt.timedelta(minutes=20)
    stall_hint: ClassVar[str] = "Fetch the day again: manage.py fetch_bhavcopy --date D."

    exchange = models.CharField(max_length=3, choices=Exchange.choices)
    trade_date = models.DateField()
    url = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Of the last attempt.")
    size = models.PositiveBigIntegerField(default=0, help_text="Bytes of the file written to the inbox.")
    sha256 = models.CharField(max_length=64, blank=True)
    path = models.CharField(max_length=500, blank=True, help_text="Where the file was written.")

    class Meta:
        ordering = ["-trade_date", "exchange"]
        constraints = [models.UniqueConstraint(fields=["exchange", "trade_date"], name="fetchrun_unique_exchange_date")]

    def __str__(self) -> str:
        return f"fetch {self.exchange} {self.trade_date} ({self.status})"
