"""Writes of market data: the bulk bar upsert, loading bhavcopy files into it, and fetching them.

``bars_upsert`` is the one way bars enter the database (file ingestion and the synthetic market
both call it). ``bars_ingest`` loads files, one transaction per file, leaving an IngestRun for
each, failed ones included. ``inbox_ingest`` is the daily job's body; ``bhavcopy_fetch`` fills the
inbox from the exchanges' archives, leaving a FetchRun per exchange and day.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from tqdm import tqdm

from common.bulk import copy_in
from common.choices import RunStatus
from common.services import run_fail, run_skip, run_start, run_succeed
from marketdata import bars_copy, fetch
from marketdata.bandfiles import BandFileError, parse_band_file
from marketdata.choices import Exchange, SessionKind
from marketdata.ingest import IngestError, SourceFile, expand_sources, prepare_file, sha256_hex
from marketdata.ingest.frame import BAR_VALUE_COLUMNS
from marketdata.ingest.rejects import rejects_write
from marketdata.ingest.result import ALREADY_INGESTED, FAILED, SUCCEEDED, IngestResult
from marketdata.models import DailyBar, FetchRun, IngestRun, Instrument, PriceBand, TradingSession
from marketdata.selectors import bars_on, trading_session_dates

logger = logging.getLogger(__name__)

BAR_FIELDS = BAR_VALUE_COLUMNS  # DailyBar columns written by an upsert, after (instrument_id, date)
REQUIRED_COLUMNS: tuple[str, ...] = ("symbol", "date", "open", "high", "low", "close", "volume")
_FLOAT_FIELDS = ("open", "high", "low", "close", "last", "prev_close", "turnover")
_TEXT_LIMITS = {"series": 4, "isin": 12, "name": 200}

# Rows per bars_upsert call from bars_ingest: the progress bar's step, and a bound on the
# staging CSV held in memory (~20 MB).
INGEST_CHUNK_ROWS = 200_000
# Rows per round trip on the portable (non-PostgreSQL) path.
GENERIC_CHUNK_ROWS = 2_000
# SQLite allows 32,766 bound parameters per statement; stay far below for IN (...) lists.
_IN_LIST_SIZE = 500
_STAGE_TABLE = "marketdata_bar_stage"


@dataclass(frozen=True)
class UpsertCounts:
    """Bars written by an upsert: new rows, rows whose values changed, rows left as they were."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(
            self.inserted + other.inserted, self.updated + other.updated, self.unchanged + other.unchanged
        )


# --- the bulk upsert ----------------------------------------------------------------------------


def bars_upsert(*, frame: pd.DataFrame, exchange: str, progress: Callable[[int], None] | None = None) -> UpsertCounts:
    """Upsert Instruments by (exchange, symbol), then DailyBars on (instrument, date).

    ``frame`` is a normalised frame (see marketdata/ingest/frame.py): ``symbol, date, open, high,
    low, close, volume`` required; ``series, isin, name, last, prev_close, turnover, trades``
    optional; other columns ignored. Prices are rupees, volume shares, turnover rupees. An
    instrument takes the series/isin/name of its latest row unless it already has bars after
    that date (a backfill never overwrites newer values); blank values never erase stored ones.
    A bar whose values are all equal to the stored ones is not rewritten.

    Call it inside the caller's transaction (it opens a savepoint of its own), with the whole load
    in one call: on PostgreSQL a load that at least doubles the table runs in a bulk window
    (marketdata/bars_copy.py) that locks the bar and instrument tables until the caller commits.
    ``progress(rows)`` is called as rows are written. Raises ValueError for a frame it cannot
    load: a missing column, a missing required value, a duplicate symbol-date.
    """
    if exchange not in Exchange.values:
        raise ValueError(f"exchange must be one of {', '.join(Exchange.values)}, not {exchange!r}")
    bars = _bar_rows(frame)
    if bars.empty:
        return UpsertCounts()
    with transaction.atomic():
        ids, last_dates = _instruments_upsert(bars, exchange=exchange)
        codes, symbols = pd.factorize(bars["symbol"])  # map each distinct symbol once, not each row
        bars["instrument_id"] = np.array([ids[symbol] for symbol in symbols], dtype=np.int64)[codes]
        fresh = _after_last_bar(bars, last_dates)
        if _uses_copy():
            return _bars_upsert_postgres(bars, fresh=fresh, progress=progress)
        counts = _bars_upsert_generic(bars, fresh=fresh)
        if progress is not None:
            progress(len(bars))
        return counts


def _after_last_bar(bars: pd.DataFrame, last_dates: dict[int, dt.date]) -> np.ndarray:
    """(R,) bool: rows dated after their instrument's last stored bar (or of an instrument with none).

    Such a row cannot conflict with a stored one, so it skips the diff: a new instrument, the
    evening's bhavcopy and a chronological backfill all go straight in.
    """
    last = pd.to_datetime(bars["instrument_id"].map(last_dates))
    return np.asarray(last.isna() | (bars["date"] > last), dtype=bool)


def _uses_copy() -> bool:
    return connection.vendor == "postgresql"


def _floats(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name]).to_numpy(dtype=np.float64, na_value=np.nan)


def _bar_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` checked and reduced to the columns written, with a fresh 0..n-1 index."""
    missing = [name for name in REQUIRED_COLUMNS if name not in frame.columns]
    if missing:
        raise ValueError(f"bars_upsert needs columns {', '.join(missing)}")
    symbols, symbol_codes = _text(frame["symbol"])
    dates = pd.to_datetime(frame["date"]).dt.normalize().to_numpy()
    columns: dict[str, Any] = {"symbol": symbols, "date": dates}
    for name, limit in _TEXT_LIMITS.items():
        if name in frame.columns:
            columns[name] = _text(frame[name], limit)[0]
        else:
            columns[name] = pd.Categorical.from_codes(np.zeros(len(frame), dtype=np.int8), categories=[""])
    for name in (*_FLOAT_FIELDS, "volume", "trades"):
        columns[name] = _floats(frame, name)
    bars = pd.DataFrame(columns, index=pd.RangeIndex(len(frame)), copy=False)
    required = np.isnat(dates).any() or any(np.isnan(columns[name]).any() for name in ("open", "high", "low", "close"))
    if required or np.isnan(columns["volume"]).any() or (bars["symbol"] == "").any():
        raise ValueError("bars_upsert got rows without a symbol, date, open, high, low, close or volume")
    if ((columns["volume"] % 1 != 0) | (np.nan_to_num(columns["trades"]) % 1 != 0)).any():
        raise ValueError("bars_upsert got a volume or trade count that is not a whole number")
    # One int64 per (symbol, day), sorted unless it already is (files come by symbol, then date):
    # a repeat is then a zero step. Far cheaper than DataFrame.duplicated on strings.
    key = (symbol_codes.astype(np.int64) << 32) + dates.astype("datetime64[D]").astype(np.int64)
    steps = np.diff(key)
    if not (steps > 0).all() and not (np.diff(np.sort(key)) != 0).all():
        raise ValueError("bars_upsert got the same symbol and date twice")
    return bars


def _text(values: pd.Series, limit: int | None = None) -> tuple[pd.Categorical, np.ndarray]:
    """(R,) stripped strings ("" for missing) cut to ``limit`` characters, as a Categorical, and
    its (R,) int codes (equal exactly where the strings are).

    The string work runs once per distinct value (a few thousand symbols, six series), not per
    row, and the rows hold codes: sorting or subsetting millions of bars moves no strings.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    cleaned = pd.Index(np.asarray(uniques, dtype=object)).astype(str).str.strip()
    if limit is not None:
        cleaned = cleaned.str.slice(0, limit)
    # Raw values that clean to the same string ("A", " A") share a category; -1 (missing) is "".
    same, categories = pd.factorize(pd.Index([*cleaned, ""], dtype=object))
    picked = same[np.where(codes < 0, len(cleaned), codes)]
    return pd.Categorical.from_codes(picked, categories=pd.Index(categories, dtype=object)), picked


def _chunks(values: list[Any], size: int) -> list[list[Any]]:
    return [values[start : start + size] for start in range(0, len(values), size)]


def _instruments_by_symbol(exchange: str, symbols: list[str]) -> dict[str, Instrument]:
    found: dict[str, Instrument] = {}
    for part in _chunks(symbols, _IN_LIST_SIZE):
        found.update({inst.symbol: inst for inst in Instrument.objects.filter(exchange=exchange, symbol__in=part)})
    return found


def _last_bar_dates(instrument_ids: list[int]) -> dict[int, dt.date]:
    """Each instrument's latest bar date: one index probe per instrument (a correlated MAX), where a
    GROUP BY would aggregate every stored bar of the instruments."""
    found: dict[int, dt.date] = {}
    latest = DailyBar.objects.filter(instrument_id=OuterRef("pk")).order_by("-date").values("date")[:1]
    for part in _chunks(instrument_ids, _IN_LIST_SIZE):
        rows = Instrument.objects.filter(pk__in=part).annotate(last=Subquery(latest)).values_list("pk", "last")
        found.update({pk: last for pk, last in rows if last is not None})
    return found


def _instruments_upsert(bars: pd.DataFrame, *, exchange: str) -> tuple[dict[str, int], dict[int, dt.date]]:
    """Create missing instruments, refresh changed ones.

    Returns symbol -> instrument id, and the latest stored bar date of each instrument that has
    bars (the instruments this call created have none, barring a concurrent load).
    """
    latest = bars.loc[bars.groupby("symbol", sort=False)["date"].idxmax()]
    rows = list(zip(latest["symbol"], latest["date"], latest["series"], latest["isin"], latest["name"], strict=True))
    known = _instruments_by_symbol(exchange, [row[0] for row in rows])
    fresh = [
        Instrument(exchange=exchange, symbol=symbol, series=series, isin=isin, name=name)
        for symbol, _, series, isin, name in rows
        if symbol not in known
    ]
    if fresh:
        # ignore_conflicts: a concurrent load may create the same instrument first.
        Instrument.objects.bulk_create(fresh, ignore_conflicts=True, batch_size=1000)
        created = _instruments_by_symbol(exchange, [inst.symbol for inst in fresh])
    else:
        created = {}
    last_dates = _last_bar_dates([inst.pk for inst in known.values()])
    now = timezone.now()
    changed = []
    for symbol, day, series, isin, name in rows:
        inst = known.get(symbol)
        if inst is None:
            continue
        last = last_dates.get(inst.pk)
        if last is not None and day.date() < last:
            continue
        values = (series or inst.series, isin or inst.isin, name or inst.name)
        if values != (inst.series, inst.isin, inst.name):
            inst.series, inst.isin, inst.name = values
            inst.updated_at = now
            changed.append(inst)
    if changed:
        Instrument.objects.bulk_update(changed, ["series", "isin", "name", "updated_at"], batch_size=500)
    known.update(created)
    return {symbol: inst.pk for symbol, inst in known.items()}, last_dates


def _bars_upsert_postgres(
    bars: pd.DataFrame, *, fresh: np.ndarray, progress: Callable[[int], None] | None = None
) -> UpsertCounts:
    """Rows after their instrument's last stored bar: one binary COPY straight in (inside a bulk
    window when they at least double the table). The rest: staged upsert, chunk by chunk."""
    copied = 0
    if fresh.any():
        try:
            # A concurrent load could have written some of these bars since we looked: then the
            # unique constraint fires, the savepoint undoes the COPY, and the staged path handles them.
            with (
                transaction.atomic(),
                bars_copy.bulk_window(rows=int(fresh.sum())),
                connection.cursor() as cursor,
            ):
                copy_in(
                    cursor,
                    f"COPY {_quoted_table()} ({_columns()}) FROM STDIN WITH (FORMAT binary)",
                    bars_copy.payload_chunks(_in_key_order(bars[fresh]), progress=progress),
                )
            copied = int(fresh.sum())
        except IntegrityError:
            fresh = np.zeros(len(bars), dtype=bool)
    counts = UpsertCounts(inserted=copied)
    rest = bars[~fresh]
    for start in range(0, len(rest), INGEST_CHUNK_ROWS):
        part = rest.iloc[start : start + INGEST_CHUNK_ROWS]
        counts += _bars_upsert_staged(part)
        if progress is not None:
            progress(len(part))
    return counts


def _in_key_order(bars: pd.DataFrame) -> pd.DataFrame:
    """``bars`` sorted by (instrument, date) unless they already are (files come by symbol).

    Rows in key order append to the unique index's rightmost pages one after another; in date
    order (the synthetic market) each row lands on another instrument's page: 1.5x the COPY time.
    """
    days = bars["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    key = (bars["instrument_id"].to_numpy(dtype=np.int64) << 32) + days
    if (np.diff(key) > 0).all():
        return bars
    return bars.iloc[np.argsort(key, kind="stable")]


def _quoted_table() -> str:
    return connection.ops.quote_name(DailyBar._meta.db_table)


def _columns(prefix: str = "") -> str:
    quote = connection.ops.quote_name
    return ", ".join(f"{prefix}{quote(name)}" for name in ("instrument_id", "date", *BAR_FIELDS))


def _bars_upsert_staged(bars: pd.DataFrame) -> UpsertCounts:
    """COPY into a temp staging table, then one INSERT ... ON CONFLICT that skips equal rows.

    The join drops unchanged rows before the INSERT: ON CONFLICT DO UPDATE locks every
    conflicting row even when its WHERE then declines the update (docs/ingestion.md has the A/B).
    """
    quote = connection.ops.quote_name
    table = _quoted_table()
    stage = quote(_STAGE_TABLE)
    fields = [quote(name) for name in BAR_FIELDS]
    assign = ", ".join(f"{name} = EXCLUDED.{name}" for name in fields)

    def row(alias: str) -> str:
        return ", ".join(f"{alias}.{name}" for name in fields)

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{stage}")
        cursor.execute(
            f"CREATE TEMP TABLE {stage} ("
            "instrument_id bigint NOT NULL, date date NOT NULL, series varchar(4) NOT NULL, "
            "open double precision NOT NULL, high double precision NOT NULL, low double precision NOT NULL, "
            "close double precision NOT NULL, last double precision, prev_close double precision, "
            "volume bigint NOT NULL, turnover double precision, trades bigint"
            ") ON COMMIT DROP"
        )
        copy_in(cursor, f"COPY {stage} ({_columns()}) FROM STDIN WITH (FORMAT binary)", bars_copy.payload_chunks(bars))
        cursor.execute(f"ANALYZE {stage}")  # temp tables get no autovacuum statistics
        # xmax = 0 only on a freshly inserted row version: it tells inserts from updates.
        cursor.execute(
            f"WITH written AS ("
            f" INSERT INTO {table} AS bar ({_columns()})"
            f" SELECT {_columns('s.')} FROM {stage} s"
            f" LEFT JOIN {table} old ON old.instrument_id = s.instrument_id AND old.date = s.date"
            # The bounds let the planner start its index scan at this chunk, not at the table's start.
            f" AND old.instrument_id BETWEEN %s AND %s AND old.date BETWEEN %s AND %s"
            f" WHERE old.id IS NULL OR ({row('old')}) IS DISTINCT FROM ({row('s')})"
            f" ON CONFLICT (instrument_id, date) DO UPDATE SET {assign}"
            f" WHERE ({row('bar')}) IS DISTINCT FROM ({row('EXCLUDED')})"
            f" RETURNING (xmax = 0) AS inserted"
            f") SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written",
            [
                int(bars["instrument_id"].min()),
                int(bars["instrument_id"].max()),
                bars["date"].min().date(),
                bars["date"].max().date(),
            ],
        )
        inserted, updated = cursor.fetchone()
        cursor.execute(f"DROP TABLE {stage}")
    return UpsertCounts(inserted, updated, len(bars) - inserted - updated)


def _same(left: pd.Series, right: pd.Series) -> np.ndarray:
    return np.asarray((left == right) | (left.isna() & right.isna()), dtype=bool)


def _insert_rows(bars: pd.DataFrame) -> list[tuple[Any, ...]]:
    """The bars as driver parameters in ``_columns()`` order: NaN -> None, whole numbers as int."""
    columns: list[list[Any]] = [
        bars["instrument_id"].astype(int).tolist(),
        [day.date() for day in pd.to_datetime(bars["date"])],
        bars["series"].tolist(),
    ]
    for name in BAR_FIELDS[1:]:
        values = bars[name].astype(object).where(bars[name].notna(), None).tolist()
        if name in ("volume", "trades"):
            # A list, not Series.map: pandas would turn a None among ints back into NaN.
            values = [None if v is None else int(v) for v in values]
        columns.append(values)
    return list(zip(*columns, strict=True))


def _bars_insert_generic(bars: pd.DataFrame) -> None:
    """Plain INSERTs through ``executemany`` in the caller's transaction (SQLite: one fsync at commit)."""
    placeholders = ", ".join(["%s"] * (2 + len(BAR_FIELDS)))
    with connection.cursor() as cursor:
        for start in range(0, len(bars), INGEST_CHUNK_ROWS):
            cursor.executemany(
                f"INSERT INTO {_quoted_table()} ({_columns()}) VALUES ({placeholders})",
                _insert_rows(bars.iloc[start : start + INGEST_CHUNK_ROWS]),
            )


def _bars_upsert_generic(bars: pd.DataFrame, *, fresh: np.ndarray | None = None) -> UpsertCounts:
    """Portable path (SQLite for the demo): rows after their instrument's last bar are inserted with
    ``executemany``; the rest are diffed against the stored bars and the changed ones upserted."""
    fresh = np.zeros(len(bars), dtype=bool) if fresh is None else fresh
    counts = UpsertCounts()
    if fresh.any():
        try:
            with transaction.atomic():  # a concurrent writer got there first: diff them instead
                _bars_insert_generic(bars[fresh])
            counts = UpsertCounts(inserted=int(fresh.sum()))
        except IntegrityError:
            fresh = np.zeros(len(bars), dtype=bool)
    if fresh.all():
        return counts
    return counts + _bars_upsert_generic_diff(bars[~fresh])


def _bars_upsert_generic_diff(bars: pd.DataFrame) -> UpsertCounts:
    """Diff ``bars`` against the stored ones in chunks; write only the new and the changed."""
    counts = UpsertCounts()
    for start in range(0, len(bars), GENERIC_CHUNK_ROWS):
        part = bars.iloc[start : start + GENERIC_CHUNK_ROWS]
        stored = pd.DataFrame.from_records(
            DailyBar.objects.filter(
                instrument_id__in=part["instrument_id"].unique().tolist(),
                date__gte=part["date"].min().date(),
                date__lte=part["date"].max().date(),
            ).values("instrument_id", "date", *BAR_FIELDS),
            columns=["instrument_id", "date", *BAR_FIELDS],
        )
        stored["date"] = pd.to_datetime(stored["date"])
        stored[list(BAR_FIELDS[1:])] = stored[list(BAR_FIELDS[1:])].astype(np.float64)
        merged = part.merge(stored, on=["instrument_id", "date"], how="left", suffixes=("", "_db"), indicator=True)
        new = np.asarray(merged["_merge"] == "left_only")
        equal = np.ones(len(merged), dtype=bool)
        for name in BAR_FIELDS:
            equal &= _same(merged[name], merged[f"{name}_db"])
        write = merged[new | ~equal]
        DailyBar.objects.bulk_create(
            [_bar_model(row) for row in write.to_dict("records")],
            update_conflicts=True,
            unique_fields=["instrument", "date"],
            update_fields=list(BAR_FIELDS),
        )
        inserted = int(new.sum())
        updated = len(write) - inserted
        counts += UpsertCounts(inserted, updated, len(part) - inserted - updated)
    return counts


def _optional(value: float) -> float | None:
    return None if pd.isna(value) else float(value)


def _bar_model(row: dict[str, Any]) -> DailyBar:
    trades = _optional(row["trades"])
    return DailyBar(
        instrument_id=int(row["instrument_id"]),
        date=row["date"].date(),
        series=row["series"],
        open=float(row["open"]),
        high=float(row["high"]),
        low=float(row["low"]),
        close=float(row["close"]),
        last=_optional(row["last"]),
        prev_close=_optional(row["prev_close"]),
        volume=int(row["volume"]),
        turnover=_optional(row["turnover"]),
        trades=None if trades is None else int(trades),
    )


# --- loading files ------------------------------------------------------------------------------


def bars_ingest(
    *,
    path: Path | str,
    skip_bad: bool = False,
    trade_date: dt.date | None = None,
    exchange: str | None = None,
    progress: bool = True,
    force: bool = False,
) -> list[IngestResult]:
    """Load every bhavcopy ``path`` stands for (a file, a folder's files, a zip's CSVs).

    Per file: detect the layout from the header, parse, validate, and upsert in one transaction,
    leaving an IngestRun (failed runs too: they are written outside the rolled-back part). A file
    whose bytes were already loaded successfully is reported as already ingested and not read
    again, unless ``force``. ``trade_date`` dates files that carry none (BSE); ``exchange``
    names the exchange of a normalised file. ``progress`` shows a bar on large files.
    """
    if exchange is not None and exchange not in Exchange.values:
        raise ValueError(f"exchange must be one of {', '.join(Exchange.values)}, not {exchange!r}")
    try:
        sources = expand_sources(Path(path))
    except IngestError as exc:
        result = IngestResult(source=str(path), status=FAILED, error=str(exc))
        return [_run_record(None, result, sha256="")]
    return [
        _source_ingest(
            source, skip_bad=skip_bad, trade_date=trade_date, exchange=exchange, progress=progress, force=force
        )
        for source in sources
    ]


@dataclass
class _Progress:
    """What is known about a file so far, for the IngestRun when it fails part way."""

    sha256: str = ""
    layout: str = ""
    exchange: str = ""
    rows_read: int = 0
    rows_skipped: int = 0
    rows_rejected: int = 0
    first_date: dt.date | None = None
    last_date: dt.date | None = None
    refused_dates: tuple[tuple[dt.date, str], ...] = ()
    special_sessions: tuple[tuple[dt.date, str], ...] = ()


def _stored_bars(exchange: str, day: dt.date) -> pd.DataFrame:
    return bars_on(exchange=exchange, date=day)


def _source_ingest(
    source: SourceFile,
    *,
    skip_bad: bool,
    trade_date: dt.date | None,
    exchange: str | None,
    progress: bool,
    force: bool,
) -> IngestResult:
    started = time.perf_counter()
    known = _Progress()
    run: IngestRun | None = None
    try:
        data = source.read()
        known.sha256 = sha256_hex(data)
        if not force:
            previous = (
                IngestRun.objects.filter(sha256=known.sha256, status=RunStatus.SUCCEEDED)
                .order_by("-created_at")
                .first()
            )
            if previous is not None:
                return IngestResult(
                    source=source.label,
                    status=ALREADY_INGESTED,
                    layout=previous.layout,
                    run_id=previous.pk,
                    seconds=time.perf_counter() - started,
                )
        run = run_start(IngestRun(source=source.label, sha256=known.sha256))
        prepared = prepare_file(
            data,
            filename=source.filename,
            trade_date=trade_date,
            exchange=exchange,
            skip_bad=skip_bad,
            today=timezone.localdate(),
            extra_sessions=trading_session_dates(),
            stored_bars=_stored_bars,
        )
        known.layout, known.exchange = prepared.layout, prepared.exchange
        known.rows_read, known.rows_skipped = prepared.rows_read, prepared.rows_skipped
        known.rows_rejected = len(prepared.rejects)
        known.first_date, known.last_date = prepared.first_date, prepared.last_date
        known.refused_dates = tuple(sorted(prepared.refused_dates.items()))
        known.special_sessions = tuple(sorted(prepared.special_sessions.items()))
        with transaction.atomic():
            counts = _upsert_chunked(
                prepared.bars, exchange=prepared.exchange, label=source.filename, progress=progress
            )
            trading_sessions_found(found=prepared.special_sessions, source=source.label)
        rejects_path = None
        if len(prepared.rejects):
            rejects_path = rejects_write(
                prepared.rejects,
                directory=Path(settings.VCP_DATA_DIR) / "ingest_rejects",
                filename=source.filename,
                sha256=known.sha256,
            )
        result = _result(source, known, SUCCEEDED, started, counts=counts, rejects_path=rejects_path)
    except IngestError as exc:
        result = _result(source, known, FAILED, started, error=str(exc))
    except Exception as exc:  # a bug or a database failure: keep the record, log the traceback
        logger.exception("ingesting %s failed unexpectedly", source.label)
        result = _result(source, known, FAILED, started, error=f"unexpected error: {exc!r} (traceback in the log)")
    logger.info("ingest %s", result.summary())
    return _run_record(run, result, sha256=known.sha256)


def _result(
    source: SourceFile,
    known: _Progress,
    status: str,
    started: float,
    *,
    counts: UpsertCounts | None = None,
    rejects_path: Path | None = None,
    error: str = "",
) -> IngestResult:
    counts = counts or UpsertCounts()
    return IngestResult(
        source=source.label,
        status=status,
        layout=known.layout,
        exchange=known.exchange,
        first_date=known.first_date,
        last_date=known.last_date,
        rows_read=known.rows_read,
        inserted=counts.inserted,
        updated=counts.updated,
        unchanged=counts.unchanged,
        rejected=known.rows_rejected,
        skipped=known.rows_skipped,
        seconds=time.perf_counter() - started,
        error=error,
        rejects_path=rejects_path,
        refused_dates=known.refused_dates,
        special_sessions=known.special_sessions if status == SUCCEEDED else (),
    )


def _upsert_chunked(bars: pd.DataFrame, *, exchange: str, label: str, progress: bool) -> UpsertCounts:
    """The whole file in one ``bars_upsert`` (so a big load gets its bulk window), with a progress bar."""
    show = progress and len(bars) > INGEST_CHUNK_ROWS
    with tqdm(total=len(bars), unit="rows", unit_scale=True, desc=label, disable=not show) as bar:
        return bars_upsert(frame=bars, exchange=exchange, progress=bar.update)


def _run_record(run: IngestRun | None, result: IngestResult, *, sha256: str) -> IngestResult:
    """Write the outcome to the file's IngestRun (started now if the file failed before one existed)."""
    run = run or run_start(IngestRun(source=result.source, sha256=sha256))
    counts = {
        "layout": result.layout,
        "trade_date": result.first_date if result.first_date == result.last_date else None,
        "rows_read": result.rows_read,
        "rows_inserted": result.inserted,
        "rows_updated": result.updated,
        "rows_unchanged": result.unchanged,
        "rows_rejected": result.rejected,
        "rows_skipped": result.skipped,
        "note": result.note,
    }
    for name, value in counts.items():
        setattr(run, name, value)
    if result.status == SUCCEEDED:
        run_succeed(run, extra=counts)
    else:
        run_fail(run, error=result.error, extra=counts)
    return IngestResult(**{**result.__dict__, "run_id": run.pk})


# --- special sessions ----------------------------------------------------------------------------


def trading_sessions_found(*, found: dict[dt.date, str], source: str) -> list[TradingSession]:
    """Record the special sessions ingestion found in ``source`` (dates XBOM does not list whose bars
    are no repeat of the previous session). A date already recorded keeps its row."""
    created = []
    for day, evidence in sorted(found.items()):
        session, new = TradingSession.objects.get_or_create(
            date=day, defaults={"kind": SessionKind.DETECTED, "note": evidence, "source": source[-500:]}
        )
        if new:
            logger.warning("special session %s accepted from %s: %s", day, source, evidence)
            created.append(session)
    return created


def trading_session_add(
    *, date: dt.date, kind: str = SessionKind.MANUAL, note: str = "", source: str = ""
) -> TradingSession:
    """Record ``date`` as a trading session the XBOM calendar does not list (admin, or a command)."""
    session, _ = TradingSession.objects.update_or_create(
        date=date, defaults={"kind": kind, "note": note, "source": source[-500:]}
    )
    logger.info("trading session %s recorded (%s): %s", date, kind, note)
    return session


def trading_session_remove(*, date: dt.date) -> int:
    """Forget a recorded special session; the calendar decides about ``date`` again. Bars stay."""
    removed, _ = TradingSession.objects.filter(date=date).delete()
    logger.info("trading session %s removed", date)
    return removed


# --- exchange band files ---------------------------------------------------------------------


@dataclass(frozen=True)
class BandLoad:
    """What loading one band file did: its layout, rows, and the run that records it."""

    layout: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    skipped_unknown: list[str]
    run_id: int


def price_bands_ingest(
    *, path: Path | str, effective_from: dt.date | None = None, skip_unknown: bool = False
) -> BandLoad:
    """Load one exchange band file into the ``PriceBand`` history, in one transaction.

    Refuses the whole file (writes no band, records a FAILED IngestRun) when a band is not one the
    exchanges use, or a symbol is unknown to the platform (unless ``skip_unknown``: then those rows
    are left out and listed). Loading the same file again changes nothing.
    """
    source = Path(path)
    run = run_start(IngestRun(source=str(source)[-500:]))
    try:
        data = source.read_bytes()
        run.sha256 = sha256_hex(data)
        parsed = parse_band_file(data, filename=source.name, effective_from=effective_from)
        run.layout, run.rows_read = parsed.layout, len(parsed.frame)
        dates = sorted(set(parsed.frame["effective_from"]))
        run.trade_date = dates[0] if len(dates) == 1 else None
        known = dict(
            Instrument.objects.filter(exchange=parsed.exchange, symbol__in=set(parsed.frame["symbol"])).values_list(
                "symbol", "id"
            )
        )
        unknown = sorted(set(parsed.frame["symbol"]) - set(known))
        if unknown and not skip_unknown:
            raise BandFileError(
                f"{len(unknown)} symbols are unknown on {parsed.exchange}: {', '.join(unknown[:10])}"
                f"{' ...' if len(unknown) > 10 else ''}. Nothing was loaded: ingest that day's bhavcopy first "
                "(it lists every traded symbol), or pass --skip-unknown to load the others."
            )
        rows = parsed.frame[parsed.frame["symbol"].isin(known)]
        with transaction.atomic():
            counts = _bands_upsert(rows, instrument_of=known, source_file=source.name)
    except (BandFileError, OSError) as exc:
        run_fail(run, error=str(exc), extra=["sha256", "layout", "rows_read", "trade_date"])
        raise BandFileError(str(exc)) from exc
    run.rows_inserted, run.rows_updated, run.rows_unchanged = counts
    run.rows_skipped = len(parsed.frame) - len(rows)
    run_succeed(run, extra=None)
    return BandLoad(parsed.layout, len(rows), *counts, skipped_unknown=unknown, run_id=run.pk)


def _bands_upsert(rows: pd.DataFrame, *, instrument_of: dict[str, int], source_file: str) -> tuple[int, int, int]:
    """(inserted, updated, unchanged) after writing ``rows`` as PriceBand rows."""
    wanted = {
        (instrument_of[symbol], day): int(band)
        for symbol, day, band in zip(rows["symbol"], rows["effective_from"], rows["band"], strict=True)
    }
    existing = {
        (pk, day): band
        for pk, day, band in PriceBand.objects.filter(
            instrument_id__in={pk for pk, _ in wanted}, effective_from__in={day for _, day in wanted}
        ).values_list("instrument_id", "effective_from", "band")
    }
    new = [key for key in wanted if key not in existing]
    changed = [key for key in wanted if key in existing and existing[key] != wanted[key]]
    PriceBand.objects.bulk_create(
        [
            PriceBand(instrument_id=pk, effective_from=day, band=wanted[(pk, day)], source_file=source_file)
            for pk, day in new + changed
        ],
        update_conflicts=True,
        unique_fields=["instrument", "effective_from"],
        update_fields=["band", "source", "source_file"],
        batch_size=2_000,
    )
    return len(new), len(changed), len(wanted) - len(new) - len(changed)


# --- the daily inbox ----------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxReport:
    """Files the inbox run moved to done/ and failed/, and every file's result."""

    loaded: list[str]
    failed: list[str]
    results: list[IngestResult]


def _move(path: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    if target.exists():  # a file of the same name was handled before: keep both
        target = folder / f"{path.stem}.{timezone.now():%Y%m%dT%H%M%S%f}{path.suffix}"
    return Path(shutil.move(str(path), str(target)))


def ingest_run_skip(*, day: dt.date, reason: str) -> IngestRun:
    """Record that the daily load did not run on ``day`` (no trading session), with the reason."""
    return run_skip(run_start(IngestRun(source=f"daily inbox load {day}", trade_date=day)), reason=reason)


def inbox_ingest(*, inbox: Path | None = None, progress: bool = False) -> InboxReport:
    """Ingest every file waiting in ``inbox`` (default VCP_DATA_DIR/inbox), oldest name first.

    A file whose sources all loaded (or were already loaded) moves to ``inbox/done/``; any
    other to ``inbox/failed/``, where its IngestRun's error says why.
    """
    folder = inbox or Path(settings.VCP_DATA_DIR) / "inbox"
    folder.mkdir(parents=True, exist_ok=True)
    loaded: list[str] = []
    failed: list[str] = []
    results: list[IngestResult] = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        outcome = bars_ingest(path=path, progress=progress)
        results.extend(outcome)
        ok = all(result.ok for result in outcome)
        (loaded if ok else failed).append(path.name)
        _move(path, folder / ("done" if ok else "failed"))
    return InboxReport(loaded=loaded, failed=failed, results=results)


# --- fetching the daily files into the inbox ----------------------------------------------------


def inbox_dir() -> Path:
    return Path(settings.VCP_DATA_DIR) / "inbox"


def _inbox_write(*, filename: str, data: bytes) -> Path:
    """Write ``data`` as ``inbox/filename`` atomically: a hidden temp file (the inbox skips hidden
    files) renamed into place, so the ingest never reads half a file."""
    folder = inbox_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / Path(filename).name
    staging = folder / f".{target.name}.{os.getpid()}.tmp"
    with open(staging, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(staging, target)
    return target


def fetch_run_skip(*, day: dt.date, reason: str, exchanges: list[str] | None = None) -> FetchRun | None:
    """Record that no exchange's file is fetched for ``day`` (no trading session), with the reason.

    A day already fetched keeps its record. Returns the last run skipped."""
    last = None
    for exchange in exchanges or settings.VCP_FETCH_EXCHANGES:
        run, _ = FetchRun.objects.get_or_create(exchange=exchange, trade_date=day)
        if run.status != RunStatus.SUCCEEDED:
            last = run_skip(run_start(run), reason=reason)
    return last


def _fetch_template(exchange: str) -> str:
    templates: dict[str, str] = settings.VCP_FETCH_URLS
    return templates[exchange]


def bhavcopy_fetch(
    *,
    day: dt.date,
    exchanges: list[str] | None = None,
    deadline_seconds: float | None = None,
    sleep: Any = time.sleep,
) -> list[FetchRun]:
    """Download ``day``'s equity bhavcopy of each exchange into the inbox, one FetchRun per exchange.

    Idempotent: an exchange whose file for ``day`` was fetched before is left alone (its run is
    returned as it is). The others are tried together, round after round, with a backoff between
    rounds (VCP_FETCH_BACKOFF_SECONDS doubling up to VCP_FETCH_BACKOFF_MAX_SECONDS), until each has
    its file, fails for good (another exchange's file, a file too big), or the deadline
    (``deadline_seconds``, default VCP_FETCH_DEADLINE_SECONDS) leaves no time for another round: then
    the run fails with the last reason. Every attempt saves the run (its heartbeat). A file reaches
    the inbox only once it is checked: a readable CSV of that exchange dated ``day`` in every row.
    """
    wanted = list(exchanges or settings.VCP_FETCH_EXCHANGES)
    unknown = [name for name in wanted if name not in Exchange.values]
    if unknown:
        raise ValueError(f"exchange must be one of {', '.join(Exchange.values)}, not {', '.join(unknown)}")
    limit = settings.VCP_FETCH_DEADLINE_SECONDS if deadline_seconds is None else deadline_seconds
    deadline = time.monotonic() + limit
    runs: list[FetchRun] = []
    pending: list[FetchRun] = []
    for exchange in wanted:
        run, _ = FetchRun.objects.get_or_create(exchange=exchange, trade_date=day)
        runs.append(run)
        if run.status == RunStatus.SUCCEEDED:
            continue
        run.url = fetch.url_for(_fetch_template(exchange), day)[:500]
        run.attempts, run.http_status, run.note = 0, None, ""
        pending.append(run_start(run, extra=["url", "attempts", "http_status"]))
    errors: dict[int, str] = {}
    round_ = 0
    while pending:
        round_ += 1
        for run in list(pending):
            if _fetch_attempt(run, day=day, errors=errors):
                pending.remove(run)
        if not pending:
            break
        wait = fetch.backoff_seconds(
            round_, base=settings.VCP_FETCH_BACKOFF_SECONDS, cap=settings.VCP_FETCH_BACKOFF_MAX_SECONDS
        )
        if time.monotonic() + wait > deadline:
            for run in pending:
                run_fail(
                    run,
                    error=f"{run.exchange} bhavcopy of {day} not fetched after {run.attempts} attempts within "
                    f"{limit:g} s: {errors[run.pk]}",
                    extra=["attempts", "http_status", "note"],
                )
            break
        sleep(wait)
    return runs


def _fetch_attempt(run: FetchRun, *, day: dt.date, errors: dict[int, str]) -> bool:
    """One attempt for ``run``; True when the run is closed (fetched, or failed for good)."""
    run.attempts += 1
    try:
        got = fetch.fetch_once(
            run.url,
            exchange=run.exchange,
            day=day,
            headers=fetch.request_headers(run.exchange, user_agent=settings.VCP_FETCH_USER_AGENT),
            timeout=settings.VCP_FETCH_TIMEOUT_SECONDS,
            max_bytes=settings.VCP_FETCH_MAX_BYTES,
        )
    except fetch.FetchError as exc:
        errors[run.pk] = str(exc)
        run.http_status = exc.status
        run.note = f"attempt {run.attempts}: {exc}"[:2000]
        logger.info("fetch %s %s attempt %d: %s", run.exchange, day, run.attempts, exc)
        if not exc.retryable:
            run_fail(run, error=str(exc), extra=["attempts", "http_status", "note"])
            return True
        run.save(update_fields=["attempts", "http_status", "note", "updated_at"])
        return False
    path = _inbox_write(filename=got.filename, data=got.data)
    run.http_status, run.size, run.sha256, run.path = got.status, len(got.data), sha256_hex(got.data), str(path)
    run.note = f"{got.rows} rows of {day} in {got.filename} after {run.attempts} attempts"
    run_succeed(run, extra=["attempts", "http_status", "size", "sha256", "path", "note"])
    logger.info("fetched %s %s into %s", run.exchange, day, path)
    return True
