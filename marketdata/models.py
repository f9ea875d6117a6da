"""Instruments and their daily bars: the platform's source of truth for prices."""

from __future__ import annotations

from django.db import models

from common.models import RunRecord
from marketdata.choices import BandPercent, BandSource, Exchange


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

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="bars")
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


class IngestRun(RunRecord):
    """One file loaded (or refused): what it was, what it did, and why it failed if it did."""

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
