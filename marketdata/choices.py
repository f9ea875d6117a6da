"""Status and category values for market data, in one place."""

from __future__ import annotations

from django.db import models


class Exchange(models.TextChoices):
    NSE = "NSE", "National Stock Exchange"
    BSE = "BSE", "Bombay Stock Exchange"


class PriceBand(models.IntegerChoices):
    """Daily price bands (percent over the previous close) that exchanges apply to equities."""

    TWO = 2, "2%"
    FIVE = 5, "5%"
    TEN = 10, "10%"
    TWENTY = 20, "20%"


class BandSource(models.TextChoices):
    EXCHANGE_FILE = "exchange_file", "Exchange band file"
    INFERRED = "inferred", "Inferred from history"
    MANUAL = "manual", "Set manually"


class IngestStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
