"""Status and category values for market data, in one place."""

from __future__ import annotations

from django.db import models

from marketdata.enums import EXCHANGE_NAMES, ExchangeCode


class Exchange(models.TextChoices):
    NSE = ExchangeCode.NSE.value, EXCHANGE_NAMES[ExchangeCode.NSE]
    BSE = ExchangeCode.BSE.value, EXCHANGE_NAMES[ExchangeCode.BSE]


class BandPercent(models.IntegerChoices):
    """Daily price bands (percent over the previous close) that exchanges apply to equities."""

    NO_BAND = 0, "No band (dynamic operating range)"
    TWO = 2, "2%"
    FIVE = 5, "5%"
    TEN = 10, "10%"
    TWENTY = 20, "20%"


class BandSource(models.TextChoices):
    EXCHANGE_FILE = "exchange_file", "Exchange band file"
    INFERRED = "inferred", "Inferred from history"
    MANUAL = "manual", "Set manually"


class SessionKind(models.TextChoices):
    """Why a day the XBOM calendar does not list was a trading session."""

    MUHURAT = "muhurat", "Muhurat (Diwali evening)"
    BUDGET = "budget", "Union Budget"
    DR_SITE = "dr_site", "Live DR-site session"
    DETECTED = "detected", "Found in the data at ingestion"
    MANUAL = "manual", "Added by staff"
