"""Market-data values that pure code needs (parsers, the synthetic market), with no Django.

``marketdata.choices`` derives the Django field choices from these, so there is one list of values.
"""

from __future__ import annotations

from enum import StrEnum


class ExchangeCode(StrEnum):
    NSE = "NSE"
    BSE = "BSE"


EXCHANGE_NAMES: dict[ExchangeCode, str] = {
    ExchangeCode.NSE: "National Stock Exchange",
    ExchangeCode.BSE: "Bombay Stock Exchange",
}
