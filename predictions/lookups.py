"""The serving path's reads of market data, cached in-process for a minute.

Instrument by symbol, an instrument's latest bar date and the market's recent trading dates change
once a day, at ingestion; each cached answer saves a query per request. The reads themselves are
``marketdata.selectors``; only the caching lives here.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
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
_instruments: TTLCache[tuple[str, str], InstrumentRef] = TTLCache(maxsize=200_000, ttl=LOOKUP_TTL)
_latest: TTLCache[int, dt.date] = TTLCache(maxsize=200_000, ttl=LOOKUP_TTL)
_market_dates: TTLCache[tuple[dt.date, int], tuple[dt.date, ...]] = TTLCache(maxsize=64, ttl=LOOKUP_TTL)
_loaded_at: dict[str, float] = {}  # when each whole-market load last ran (time.monotonic())


def lookups_clear() -> None:
    with _lock:
        _instruments.clear()
        _latest.clear()
        _market_dates.clear()
        _loaded_at.clear()


def normalise_symbol(symbol: str) -> str:
    return symbol.strip().upper()


def _refs_by_key(rows: Iterable[tuple[int, str, str, str]]) -> dict[tuple[str, str], InstrumentRef]:
    by_symbol: dict[str, list[InstrumentRef]] = {}
    for pk, symbol, exchange, series in rows:
        by_symbol.setdefault(symbol, []).append(InstrumentRef(pk, symbol, exchange, series))
    refs: dict[tuple[str, str], InstrumentRef] = {}
    for symbol, listed in by_symbol.items():
        listed.sort(key=lambda r: _EXCHANGE_PREFERENCE.get(r.exchange, 9))
        refs[(symbol, "")] = listed[0]
        for ref in listed:
            refs[(symbol, ref.exchange)] = ref
    return refs


def _stale(what: str) -> bool:
    with _lock:
        return time.monotonic() - _loaded_at.get(what, -math.inf) >= LOOKUP_TTL


def _mark_loaded(what: str) -> None:
    with _lock:
        _loaded_at[what] = time.monotonic()


def instruments_load_all() -> int:
    """Load every instrument into this process (what ``instruments_resolve``'s first miss does)."""
    every = _refs_by_key(market.instruments_by_symbol(symbols=None))
    with _lock:
        _instruments.update(every)
    _mark_loaded("instruments")
    return len(every)


def instruments_resolve(*, requests: Sequence[tuple[str, str | None]]) -> list[InstrumentRef | None]:
    """Instrument for each ``(symbol, exchange or None)``; None where no such instrument exists.

    The first miss in a process (and the first after ``LOOKUP_TTL``) loads EVERY instrument in one
    query (~11,000 rows): with requests spread over the whole market (a Zipf mix), per-symbol misses
    cost a query on most requests of a fresh worker. A symbol still missing is asked for on its own
    (one listed since the load)."""
    wanted = [(normalise_symbol(s), e or "") for s, e in requests]
    found: dict[tuple[str, str], InstrumentRef] = {}
    with _lock:
        for key in wanted:
            hit = _instruments.get(key)
            if hit is not None:
                found[key] = hit
    if len(found) < len(set(wanted)) and _stale("instruments"):
        every = _refs_by_key(market.instruments_by_symbol(symbols=None))
        with _lock:
            _instruments.update(every)
        _mark_loaded("instruments")
        found.update({key: every[key] for key in wanted if key in every})
    missing = {s for (s, e) in wanted if (s, e) not in found}
    if missing:
        fresh = _refs_by_key(market.instruments_by_symbol(symbols=missing))
        with _lock:
            _instruments.update(fresh)
        found.update(fresh)
    return [found.get(key) for key in wanted]


def latest_bar_dates(*, instrument_ids: Iterable[int]) -> dict[int, dt.date]:
    """Each instrument's latest bar date (instruments without bars are absent).

    The first miss in a process (and the first after ``LOOKUP_TTL``) marks every instrument that
    traded on the market's latest date at once (one indexed query); the rest are asked for per call."""
    ids = set(instrument_ids)
    out: dict[int, dt.date] = {}
    with _lock:
        for pk in ids:
            hit = _latest.get(pk)
            if hit is not None:
                out[pk] = hit
    if len(out) < len(ids) and _stale("latest"):
        last = market_dates(end=dt.date.max, count=1)
        if last:
            traded = dict.fromkeys(market.instruments_traded_on(date=last[-1]), last[-1])
            with _lock:
                _latest.update(traded)
            out.update({pk: traded[pk] for pk in ids if pk in traded})
        _mark_loaded("latest")
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


def latest_market_date() -> dt.date | None:
    """The market's latest trading date (cached like ``market_dates``)."""
    last = market_dates(end=dt.date.max, count=1)
    return last[-1] if last else None


def instruments_traded_on(*, date: dt.date) -> list[int]:
    """Ids of the instruments with a bar on ``date`` (one indexed query; not cached)."""
    return list(market.instruments_traded_on(date=date))
