"""The hot path's request checks, without a DRF serializer where the answer is certain.

A full ``PredictRequestSerializer`` pass costs ~0.7 ms per request (issue 14): field objects, their
validators and an ``OrderedDict`` per call. Almost every /predict body is ``{"symbol": ...}`` with
perhaps an exchange, a date and ``explain``, all well-formed. ``predict_request_fast`` accepts
exactly those bodies with plain checks that are stricter than the serializer's; anything else (a
what-if vector, an unknown key, a bad value) returns None and the serializer decides, so every
error keeps its message and shape. ``batch_items_fast`` does the same for /batch_predict items.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from marketdata.choices import Exchange
from predictions.api.serializers import SYMBOL_PATTERN

_SYMBOL = re.compile(SYMBOL_PATTERN)
_EXCHANGES = frozenset(Exchange.values)
_PREDICT_KEYS = frozenset({"symbol", "exchange", "date", "explain"})
_ITEM_KEYS = frozenset({"symbol", "exchange", "date"})
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class ItemRequest:
    symbol: str
    exchange: str | None
    date: dt.date | None


_REFUSED = object()  # a value the fast path does not decide: the serializer will


def _date(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        return _REFUSED
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return _REFUSED


def _item(data: Any, keys: frozenset[str]) -> ItemRequest | None:
    if not isinstance(data, Mapping) or not keys.issuperset(data):
        return None
    symbol = data.get("symbol")
    if not isinstance(symbol, str) or not _SYMBOL.match(symbol) or symbol.endswith("\n"):
        return None  # ``$`` also matches before a final newline; the serializer words that error
    exchange = data.get("exchange")
    if exchange is not None and exchange not in _EXCHANGES:
        return None
    date = _date(data.get("date"))
    if date is _REFUSED:
        return None
    return ItemRequest(symbol=symbol, exchange=exchange, date=date)


def predict_request_fast(data: Any) -> tuple[ItemRequest, bool] | None:
    """``(item, explain)`` for a well-formed /predict body without ``features``; else None."""
    item = _item(data, _PREDICT_KEYS)
    if item is None:
        return None
    explain = data.get("explain", False)
    if not isinstance(explain, bool):
        return None
    return item, explain


def batch_items_fast(data: Any, *, limit: int) -> tuple[list[ItemRequest], bool] | None:
    """``(items, explain)`` for a well-formed /batch_predict body within ``limit`` items; else None."""
    if not isinstance(data, Mapping) or not {"items", "explain"}.issuperset(data):
        return None
    raw = data.get("items")
    explain = data.get("explain", False)
    if not isinstance(raw, list) or not 1 <= len(raw) <= limit or not isinstance(explain, bool):
        return None
    items: list[ItemRequest] = []
    for entry in raw:
        item = _item(entry, _ITEM_KEYS)
        if item is None:
            return None
        items.append(item)
    return items, explain
