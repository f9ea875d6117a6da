"""The serving path's reads of market data, cached in-process for a minute.

Instrument by symbol, an instrument's latest bar date and the market's recent trading dates change
once a day, at ingestion; each cached answer saves a query per request. The reads themselves are
``marketdata.selectors``; only the caching lives here.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cachetools import TTLCache

from marketdata import selectors as market
from marketdata.choices import Exchange

LOOKUP_TTL = 60.0
# When a request names no exchange, NSE wins over BSE: NSE is the primary listing for most stocks.
_EXCHANGE_PREFERENCE = {Exchange.NSE.value: 0, Exchange.BSE.value: 1}


@dataclass(frozen=True)
class InstrumentRef:
    id: int
    symbol: str
    exchange: str
    series: str


_lock = threading.Lock()
_instruments: TTLCache[tuple[str, str], InstrumentRef] = TTLCache(maxsize=50_000, ttl=LOOKUP_TTL)
_latest: TTLCache[int, dt.date] = TTLCache(maxsize=50_000, ttl=LOOKUP_TTL)
_market_dates: TTLCache[tuple[dt.date, int], tuple[dt.date, ...]] = TTLCache(maxsize=64, ttl=LOOKUP_TTL)


def lookups_clear() -> None:
    with _lock:
        _instruments.clear()
        _latest.clear()
        _market_dates.clear()


def normalise_symbol(symbol: str) -> str:
    return symbol.strip().upper()


def instruments_resolve(*, requests: Sequence[tuple[str, str | None]]) -> list[InstrumentRef | None]:
    """Instrument for each ``(symbol, exchange or None)``; None where no such instrument exists."""
    wanted = [(normalise_symbol(s), e or "") for s, e in requests]
    found: dict[tuple[str, str], InstrumentRef] = {}
    with _lock:
        for key in wanted:
            hit = _instruments.get(key)
            if hit is not None:
                found[key] = hit
    missing = {s for (s, e) in wanted if (s, e) not in found}
    if missing:
        by_symbol: dict[str, list[InstrumentRef]] = {}
        for pk, symbol, exchange, series in market.instruments_by_symbol(symbols=missing):
            by_symbol.setdefault(symbol, []).append(InstrumentRef(pk, symbol, exchange, series))
        fresh: dict[tuple[str, str], InstrumentRef] = {}
        for symbol, refs in by_symbol.items():
            refs.sort(key=lambda r: _EXCHANGE_PREFERENCE.get(r.exchange, 9))
            fresh[(symbol, "")] = refs[0]
            for ref in refs:
                fresh[(symbol, ref.exchange)] = ref
        with _lock:
            _instruments.update(fresh)
        found.update(fresh)
    return [found.get(key) for key in wanted]


def latest_bar_dates(*, instrument_ids: Iterable[int]) -> dict[int, dt.date]:
    """Each instrument's latest bar date (instruments without bars are absent)."""
    ids = set(instrument_ids)
    out: dict[int, dt.date] = {}
    with _lock:
        for pk in ids:
            hit = _latest.get(pk)
            if hit is not None:
                out[pk] = hit
    missing = ids - set(out)
    if missing:
        fresh = market.latest_bar_dates(instrument_ids=missing)
        with _lock:
            _latest.update(fresh)
        out.update(fresh)
    return out


def market_dates(*, end: dt.date, count: int) -> tuple[dt.date, ...]:
    """The last ``count`` stored trading dates up to ``end`` (inclusive), ascending."""
    key = (end, count)
    with _lock:
        hit = _market_dates.get(key)
    if hit is not None:
        return hit
    dates = market.market_dates(end=end, count=count)
    with _lock:
        _market_dates[key] = dates
    return dates
