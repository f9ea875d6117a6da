"""Reads of market data: bars as long frames and as panels for the pure computations."""

from __future__ import annotations

import datetime as dt
import io
import itertools
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from django.db import connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Case, Count, Max, Min, Q, QuerySet, When

from common.choices import RunStatus
from marketdata.columns import (
    BINARY_SELECT,
    PRICES_SELECT,
    BarColumns,
    CopyLayoutError,
    concat_columns,
    panel_from_columns,
    parse_copy_binary,
    prices_only,
)
from marketdata.models import DailyBar, FetchRun, Instrument, PriceBand, TradingSession
from marketdata.panel import PANEL_FIELDS, Panel
from marketdata.synthetic import SYNTHETIC_ISIN_PREFIXES

# Bulk PostgreSQL bars reads (every instrument, or at least COPY_SPLIT_MIN_INSTRUMENTS, over at least
# COPY_SPLIT_MIN_DAYS) stream as COPY_STREAMS date ranges at once, one connection each
# (``_read_copy_binary``): the machine has two cores. Smaller reads (the API's on-demand features,
# /batch_predict) stay on their one connection: a second one would cost more than it saves.
COPY_STREAMS = 2
COPY_SPLIT_MIN_DAYS = 28
COPY_SPLIT_MIN_INSTRUMENTS = 2000

BAR_COLUMNS = (
    "instrument_id",
    "symbol",
    "series",
    "date",
    "open",
    "high",
    "low",
    "close",
    "prev_close",
    "volume",
    "trades",
)


def instruments_active(*, exchange: str | None = None) -> QuerySet[Instrument]:
    qs = Instrument.objects.filter(active=True)
    if exchange:
        qs = qs.filter(exchange=exchange)
    return qs.order_by("exchange", "symbol")


def instrument_get(*, symbol: str, exchange: str | None = None) -> Instrument | None:
    qs = Instrument.objects.filter(symbol=symbol.strip().upper())
    if exchange:
        qs = qs.filter(exchange=exchange)
    # NSE before BSE when the exchange is not given (alphabetical order would put BSE first).
    return qs.order_by(Case(When(exchange="NSE", then=0), default=1)).first()


def latest_bar_date(*, instrument_id: int | None = None, end: dt.date | None = None) -> dt.date | None:
    """The newest date with a bar (of one instrument when given), at or before ``end`` when given."""
    qs = DailyBar.objects.all()
    if instrument_id is not None:
        qs = qs.filter(instrument_id=instrument_id)
    if end is not None:
        qs = qs.filter(date__lte=end)
    value: dt.date | None = qs.aggregate(latest=Max("date"))["latest"]
    return value


def latest_bar_dates(*, instrument_ids: Iterable[int]) -> dict[int, dt.date]:
    """Each instrument's latest bar date (instruments without bars are absent)."""
    rows = (
        DailyBar.objects.filter(instrument_id__in=set(instrument_ids))
        .values("instrument_id")
        .annotate(latest=Max("date"))
        .values_list("instrument_id", "latest")
    )
    return dict(rows)


def market_dates(*, end: dt.date, count: int) -> tuple[dt.date, ...]:
    """The last ``count`` stored trading dates up to ``end`` (inclusive), ascending.

    A recursive "loose index scan": one index probe per date instead of a DISTINCT over millions of
    bars (about 300 index probes against scanning every bar of the period).
    """
    table = connection.ops.quote_name(DailyBar._meta.db_table)
    sql = (
        "WITH RECURSIVE d(day, n) AS ("
        f" SELECT (SELECT MAX(date) FROM {table} WHERE date <= %s), 1"
        " UNION ALL"
        f" SELECT (SELECT MAX(b.date) FROM {table} b WHERE b.date < d.day), n + 1"
        " FROM d WHERE d.day IS NOT NULL AND n < %s"
        ") SELECT day FROM d WHERE day IS NOT NULL ORDER BY day"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [end, count])
        rows = cursor.fetchall()
    return tuple(_as_date(r[0]) for r in rows)


def _as_date(value: Any) -> dt.date:
    # SQLite returns ISO strings from a CTE, PostgreSQL returns dates.
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def instruments_with_bar_on(*, date: dt.date) -> list[int]:
    """Active instruments with a bar on ``date``: the universe a batch run scores, ascending ids."""
    return list(
        DailyBar.objects.filter(date=date, instrument__active=True)
        .order_by("instrument_id")
        .values_list("instrument_id", flat=True)
    )


def instruments_by_symbol(*, symbols: Iterable[str] | None) -> list[tuple[int, str, str, str]]:
    """``(id, symbol, exchange, series)`` of every instrument listed under one of ``symbols`` (all: None)."""
    qs = Instrument.objects.all() if symbols is None else Instrument.objects.filter(symbol__in=set(symbols))
    return list(qs.values_list("id", "symbol", "exchange", "series"))


def instruments_traded_on(*, date: dt.date) -> list[int]:
    """Every instrument with a bar on ``date``, active or not (one index range of ``dailybar_date``)."""
    return list(DailyBar.objects.filter(date=date).values_list("instrument_id", flat=True))


def trading_date_range() -> tuple[dt.date | None, dt.date | None]:
    """First and last date with any stored bar."""
    bounds = DailyBar.objects.aggregate(first=Min("date"), last=Max("date"))
    return bounds["first"], bounds["last"]


def trading_dates(*, start: dt.date | None = None, end: dt.date | None = None) -> list[dt.date]:
    """Dates that have at least one bar, ascending: the market's trading days as stored."""
    qs = DailyBar.objects.all()
    if start:
        qs = qs.filter(date__gte=start)
    if end:
        qs = qs.filter(date__lte=end)
    return list(qs.values_list("date", flat=True).distinct().order_by("date"))


def nth_trading_date_before(*, end: dt.date, lookback: int) -> dt.date | None:
    """The trading date ``lookback`` stored trading days before ``end`` (or the first one)."""
    dates = (
        DailyBar.objects.filter(date__lte=end)
        .values_list("date", flat=True)
        .distinct()
        .order_by("-date")[: lookback + 1]
    )
    found = list(dates)
    return found[-1] if found else None


def _bars_where(
    *,
    instrument_ids: Sequence[int] | None,
    start: dt.date | None,
    end: dt.date | None,
    active_only: bool,
    exchange: str | None,
) -> tuple[str, list[Any]]:
    """The WHERE clause over bars ``b``; instrument filters go through a semi-join, never a join."""
    inst = connection.ops.quote_name(Instrument._meta.db_table)
    where = ["1=1"]
    params: list[Any] = []
    if instrument_ids is not None:
        ids = [int(i) for i in instrument_ids] or [-1]
        where.append(f"b.instrument_id IN ({','.join(['%s'] * len(ids))})")
        params.extend(ids)
    if start is not None:
        where.append("b.date >= %s")
        params.append(start)
    if end is not None:
        where.append("b.date <= %s")
        params.append(end)
    wanted = []
    if active_only:
        wanted.append("i.active = %s")
        params.append(True)
    if exchange:
        wanted.append("i.exchange = %s")
        params.append(exchange)
    if wanted:
        where.append(f"b.instrument_id IN (SELECT i.id FROM {inst} i WHERE {' AND '.join(wanted)})")
    return " AND ".join(where), params


def _copy_out(
    wrapper: BaseDatabaseWrapper, raw_cursor: Any, sql: str, params: list[Any], prices: bool = False
) -> BarColumns | None:
    """One binary ``COPY`` of ``sql`` parsed into columns; None when the layout check refuses them."""
    query = raw_cursor.mogrify(sql, params)
    query = query.decode() if isinstance(query, bytes) else query
    buffer = io.BytesIO()
    with wrapper.wrap_database_errors:
        if hasattr(raw_cursor, "copy_expert"):  # psycopg2
            raw_cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT binary)", buffer)
        else:  # psycopg 3
            with raw_cursor.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT binary)") as copy:
                for block in copy:
                    buffer.write(block)
    try:
        return parse_copy_binary(buffer.getbuffer(), prices=prices)
    except CopyLayoutError:
        return None


def _copy_out_in_snapshot(
    alias: str, snapshot: str, sql: str, params: list[Any], prices: bool = False
) -> BarColumns | None:
    """``_copy_out`` on a connection of its own, reading the exported ``snapshot`` (another thread)."""
    helper = connections.create_connection(alias)
    try:
        with helper.cursor() as cursor:
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SET TRANSACTION SNAPSHOT %s", [snapshot])
            columns = _copy_out(helper, cursor.cursor, sql, params, prices)
            cursor.execute("COMMIT")
        return columns
    finally:
        helper.close()


def _read_copy_binary(queries: Sequence[tuple[str, list[Any]]], prices: bool = False) -> BarColumns | None:
    """PostgreSQL: the rows of every query through binary ``COPY``; None when a layout check refuses.

    Several queries (date ranges of one read) stream at once: the first on this connection, each
    other on a connection of its own in a thread. The server's side of a COPY (scanning and sending
    2.8M rows is about 2 s of one backend's CPU) then runs on every core, and the threads wait on
    the sockets with the GIL released. Every stream reads the snapshot this connection exports, so
    the parts are one consistent read, as a single COPY is.
    """
    if len(queries) == 1:
        with connection.cursor() as cursor:
            return _copy_out(connection, cursor.cursor, *queries[0], prices)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        with ThreadPoolExecutor(max_workers=len(queries) - 1, thread_name_prefix="bars-copy") as pool:
            others = [pool.submit(_copy_out_in_snapshot, connection.alias, snapshot, *q, prices) for q in queries[1:]]
            parts = [_copy_out(connection, cursor.cursor, *queries[0], prices), *(f.result() for f in others)]
    if any(part is None for part in parts):
        return None
    return concat_columns([part for part in parts if part is not None])


def _copy_ranges(
    start: dt.date | None, end: dt.date | None, *, instruments: int | None = None
) -> list[tuple[dt.date | None, dt.date | None]]:
    """The date ranges one PostgreSQL read is split into (see ``_read_copy_binary``).

    Only a bulk read (``instruments``: how many ids it lists, None for every instrument) bounded by
    dates at least ``COPY_SPLIT_MIN_DAYS`` apart, outside a transaction, is split: a transaction may
    hold bars no other connection can see yet.
    """
    if (
        COPY_STREAMS < 2
        or start is None
        or end is None
        or (end - start).days < COPY_SPLIT_MIN_DAYS
        or (instruments is not None and instruments < COPY_SPLIT_MIN_INSTRUMENTS)
        or connection.in_atomic_block
    ):
        return [(start, end)]
    step = ((end - start).days + 1) / COPY_STREAMS
    bounds = [start + dt.timedelta(days=round(k * step)) for k in range(COPY_STREAMS)] + [end + dt.timedelta(days=1)]
    return [(lo, hi - dt.timedelta(days=1)) for lo, hi in itertools.pairwise(bounds)]


def bars_columns(
    *,
    instrument_ids: Sequence[int] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    active_only: bool = True,
    exchange: str | None = None,
    prices: bool = False,
) -> tuple[BarColumns, dict[int, str]]:
    """THE bars read: numeric columns of every matching bar (unordered), and instrument id -> symbol.

    Every bulk reader (batch scoring, training, walk-forward, the backtests, /batch_predict through
    ``bars_panel``, the on-demand feature path through ``bars_frame``) comes through here. On
    PostgreSQL the bars stream through binary ``COPY`` of fixed-width numeric fields parsed by
    ``np.frombuffer`` (docs/performance.md has the A/B against the CSV read; a bulk read streams two
    date ranges at once, ``_read_copy_binary``); symbols are joined in memory from a second,
    instrument-sized query. Elsewhere a plain cursor reads the same columns. ``prices``: only what
    the features read (open, high, low, close, prev_close, volume; series "" and trades NaN).
    """
    where, params = _bars_where(
        instrument_ids=instrument_ids, start=start, end=end, active_only=active_only, exchange=exchange
    )
    bar = connection.ops.quote_name(DailyBar._meta.db_table)
    columns: BarColumns | None = None
    if connection.vendor == "postgresql":
        queries = []
        listed = None if instrument_ids is None else len(instrument_ids)
        for lo, hi in _copy_ranges(start, end, instruments=listed):
            part_where, part_params = _bars_where(
                instrument_ids=instrument_ids, start=lo, end=hi, active_only=active_only, exchange=exchange
            )
            select = PRICES_SELECT if prices else BINARY_SELECT
            queries.append((f"SELECT {select} FROM {bar} b WHERE {part_where}", part_params))
        columns = _read_copy_binary(queries, prices)
    if columns is None:
        fields = ", ".join(f"b.{connection.ops.quote_name(name)}" for name in PANEL_FIELDS)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT b.instrument_id, b.date, b.series, {fields} FROM {bar} b WHERE {where}", params)
            rows = cursor.fetchall()
        ids, dates, series, *values = zip(*rows, strict=True) if rows else ((),) * (3 + len(PANEL_FIELDS))
        columns = BarColumns.from_rows(ids, dates, series, dict(zip(PANEL_FIELDS, values, strict=True)))
        if prices:
            columns = prices_only(columns)
    instruments = Instrument.objects.all()
    if instrument_ids is not None:
        instruments = instruments.filter(id__in=[int(i) for i in instrument_ids])
    return columns, dict(instruments.values_list("id", "symbol"))


def bars_frame(
    *,
    instrument_ids: Sequence[int] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    active_only: bool = True,
    exchange: str | None = None,
) -> pd.DataFrame:
    """Long bars joined to their instrument, columns ``BAR_COLUMNS``, ordered by date, instrument."""
    columns, symbol_of = bars_columns(
        instrument_ids=instrument_ids, start=start, end=end, active_only=active_only, exchange=exchange
    )
    order = np.lexsort((columns.instrument_id, columns.date))
    ids = columns.instrument_id[order]
    frame = pd.DataFrame(
        {
            "instrument_id": ids,
            "symbol": pd.Series(ids).map(symbol_of).astype(object).to_numpy(),
            "series": np.asarray(columns.series_names, dtype=object)[columns.series_code[order]]
            if len(order)
            else np.array([], dtype=object),
            "date": pd.to_datetime(columns.date[order]),
        }
    )
    for name in PANEL_FIELDS:
        frame[name] = columns.values[name][order]
    return frame[list(BAR_COLUMNS)]


def bars_panel(
    *,
    instrument_ids: Sequence[int] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    active_only: bool = True,
    exchange: str | None = None,
    prices: bool = False,
) -> Panel:
    """Bars as a (dates x instruments) panel keyed by instrument id, symbols and series attached
    (``prices``: the features' columns only, series "" and trades NaN; see ``bars_columns``)."""
    columns, symbol_of = bars_columns(
        instrument_ids=instrument_ids, start=start, end=end, active_only=active_only, exchange=exchange, prices=prices
    )
    if not len(columns):
        raise LookupError("no bars match: ingest bhavcopy files or generate a synthetic market first")
    # Keyed by id so NSE and BSE symbols never collide; the symbol is shown to humans.
    panel = panel_from_columns(columns, symbol_of=symbol_of)
    return replace(panel, band=bands_panel(instrument_ids=panel.instrument_ids, dates=panel.dates))


def bands_panel(
    *, instrument_ids: Sequence[int] | npt.NDArray[np.int64], dates: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """(T, N) the band each instrument trades under on each of ``dates`` (ascending), from the
    ``PriceBand`` history as of that date: NaN before an instrument's first band row (infer from
    prices), 0 for "no band"."""
    days = np.asarray(dates, dtype="datetime64[D]")
    ids = np.asarray(instrument_ids, dtype=np.int64)
    out = np.full((len(days), len(ids)), np.nan)
    if not len(days) or not len(ids):
        return out
    column = {int(pk): n for n, pk in enumerate(ids)}
    rows = (
        PriceBand.objects.filter(instrument_id__in=list(column), effective_from__lte=days[-1].item())
        .order_by("instrument_id", "effective_from")
        .values_list("instrument_id", "effective_from", "band")
    )
    # Ascending per instrument: each row overwrites from its own date on, so the last one in force wins.
    for pk, since, band in rows:
        out[np.searchsorted(days, np.datetime64(since, "D")) :, column[pk]] = band
    return out


def trading_session_dates(*, start: dt.date | None = None, end: dt.date | None = None) -> frozenset[dt.date]:
    """The special sessions recorded in ``TradingSession`` (days XBOM does not list), within the bounds."""
    qs = TradingSession.objects.all()
    if start is not None:
        qs = qs.filter(date__gte=start)
    if end is not None:
        qs = qs.filter(date__lte=end)
    return frozenset(qs.values_list("date", flat=True))


def bars_on(*, exchange: str, date: dt.date) -> pd.DataFrame:
    """One exchange's stored bars of one day: ``symbol, open, high, low, close, volume`` (float64)."""
    rows = DailyBar.objects.filter(instrument__exchange=exchange, date=date).values_list(
        "instrument__symbol", "open", "high", "low", "close", "volume"
    )
    frame = pd.DataFrame(list(rows), columns=["symbol", "open", "high", "low", "close", "volume"])
    for column in ("open", "high", "low", "close", "volume"):
        frame[column] = frame[column].astype(np.float64)
    return frame


def bar_count_on(*, exchange: str, date: dt.date) -> int:
    """How many bars one exchange has stored for one day."""
    return DailyBar.objects.filter(instrument__exchange=exchange, date=date).count()


def fetch_run_get(*, exchange: str, date: dt.date) -> FetchRun | None:
    """The record of fetching one exchange's bhavcopy of one day, if a fetch was ever tried."""
    return FetchRun.objects.filter(exchange=exchange, trade_date=date).first()


def fetch_run_succeeded(*, exchange: str, date: dt.date) -> bool:
    return FetchRun.objects.filter(exchange=exchange, trade_date=date, status=RunStatus.SUCCEEDED).exists()


def synthetic_instrument_counts() -> tuple[int, int]:
    """``(synthetic, total)`` instruments: synthetic ones carry an ISIN no real issuer can have
    (``marketdata.synthetic.SYNTHETIC_ISIN_PREFIXES``), whether generated into the database or
    written as bhavcopy files and ingested."""
    synthetic = Q()
    for prefix in SYNTHETIC_ISIN_PREFIXES:
        synthetic |= Q(isin__startswith=prefix)
    counts = Instrument.objects.aggregate(total=Count("pk"), synthetic=Count("pk", filter=synthetic))
    return int(counts["synthetic"]), int(counts["total"])
