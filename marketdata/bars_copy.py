"""PostgreSQL bulk loading of DailyBar rows for ``marketdata.services.bars_upsert``.

Two levers, both measured on this machine (docs/performance.md, "Ingestion"):

- **Binary COPY** (``common.pgbinary``): the payload is built column-wise with numpy, and the
  server reads doubles instead of parsing their text.
- **A bulk window for big loads.** Maintaining the indexes row by row and queueing one deferred
  foreign-key check per row cost more than the COPY itself. When a load brings at least as many
  new rows as the table holds (an initial load, a backfill, a synthetic market), the table's
  indexes (all but the primary key), its unique constraint and its foreign key are dropped inside
  the load's transaction and created again, from their own definitions, before it ends: one sort
  per index, and one anti-join validates every row's instrument at once. Building the unique index
  again checks every (instrument, date): a duplicate raises IntegrityError there, the window rolls
  back, and bars_upsert loads the rows the ordinary way (as when the COPY itself hits a conflict).
  DDL is transactional in PostgreSQL: a failure anywhere rolls the drop back with the rows, and at
  commit every constraint exists and holds for every row.

  The price: the window holds ACCESS EXCLUSIVE locks on ``marketdata_dailybar`` and
  ``marketdata_instrument`` until the load commits, so readers of bars and instruments wait for
  it. That is why the window opens only when the load at least doubles the table, and only if
  the locks are granted within ``LOCK_WAIT``; otherwise the load runs the ordinary way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
from django.db import OperationalError, connection, transaction

from common import pgbinary
from marketdata.models import DailyBar, Instrument

logger = logging.getLogger(__name__)

# Rows per binary payload chunk: bounds the bytes held in memory (~16 MB) while one COPY streams.
COPY_CHUNK_ROWS = 125_000
# Below this many new rows the window saves about a second at most (row by row costs ~12 us a
# row more, measured on 1M rows) and is not worth its exclusive locks.
BULK_MIN_ROWS = 100_000
# How long the window may wait for its table locks before the load goes the ordinary way.
LOCK_WAIT = "5s"
# maintenance_work_mem while the window builds its indexes again (for this transaction only).
INDEX_BUILD_MEMORY = "256MB"

Progress = Callable[[int], None]


def bar_columns(bars: pd.DataFrame) -> list[pgbinary.Column]:
    """``bars`` (see services._bar_rows, plus ``instrument_id``) as binary COPY columns, in
    ``services._columns()`` order: instrument_id, date, then ``BAR_VALUE_COLUMNS``."""
    return [
        pgbinary.int8(bars["instrument_id"].to_numpy()),
        pgbinary.date(bars["date"].to_numpy()),
        pgbinary.text(bars["series"].to_numpy(dtype=object)),
        *(pgbinary.float8(bars[name].to_numpy()) for name in ("open", "high", "low", "close", "last", "prev_close")),
        pgbinary.int8(bars["volume"].to_numpy()),
        pgbinary.float8(bars["turnover"].to_numpy()),
        pgbinary.int8(bars["trades"].to_numpy()),
    ]


def payload_chunks(bars: pd.DataFrame, *, progress: Progress | None = None) -> Iterator[bytes]:
    """One binary COPY stream for ``bars``, built ``COPY_CHUNK_ROWS`` rows at a time.

    ``progress(rows)`` is called after each chunk is handed over.
    """
    yield pgbinary.HEADER
    for start in range(0, len(bars), COPY_CHUNK_ROWS):
        part = bars.iloc[start : start + COPY_CHUNK_ROWS]
        yield pgbinary.encode_rows(bar_columns(part))
        if progress is not None:
            progress(len(part))
    yield pgbinary.TRAILER


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _stored_rows_at_most(limit: int) -> bool:
    """Whether DailyBar holds at most ``limit`` rows: a scan of at most ``limit`` + 1 rows."""
    with connection.cursor() as cursor:
        table = _quote(DailyBar._meta.db_table)
        cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT %s) AS s", [limit + 1])
        (stored,) = cursor.fetchone()
    return int(stored) <= limit


def _locked(cursor: Any) -> bool:
    """Take the window's locks, waiting at most ``LOCK_WAIT``; False (and nothing held) if refused."""
    cursor.execute("SHOW lock_timeout")
    (previous,) = cursor.fetchone()
    try:
        with transaction.atomic():
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")
            cursor.execute(
                f"LOCK TABLE {_quote(Instrument._meta.db_table)}, {_quote(DailyBar._meta.db_table)} "
                "IN ACCESS EXCLUSIVE MODE"
            )
            cursor.execute("SET LOCAL lock_timeout = %s", [previous])
        return True
    except OperationalError as exc:  # lock_not_available: readers or writers hold the tables
        logger.info("bars bulk window not opened (%s): loading row by row", exc)
        return False


@contextmanager
def bulk_window(*, rows: int) -> Iterator[bool]:
    """Inside: DailyBar with no index but its primary key and no unique or foreign-key constraint,
    when ``rows`` new bars at least double the table (see the module docstring). On the way out
    they are all created again from their own definitions, which checks every row: a duplicate
    (instrument, date) raises IntegrityError there, as the row would have in the COPY. Yields
    whether the window opened.

    Must run inside the load's transaction; a failure (the body's or the checks') rolls the window
    back with the rows.
    """
    if connection.vendor != "postgresql" or rows < BULK_MIN_ROWS or not connection.in_atomic_block:
        yield False
        return
    if not _stored_rows_at_most(rows):
        yield False
        return
    table = DailyBar._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        if not _locked(cursor):
            yield False
            return
        # Plain indexes: neither the primary key nor one that backs a constraint.
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " WHERE i.indrelid = %s::regclass AND NOT i.indisprimary"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
            " WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)",
            [table],
        )
        indexes = cursor.fetchall()
        # Unique constraints before foreign keys: that is the order they are created again in.
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype IN ('u', 'f') ORDER BY contype DESC, conname",
            [table],
        )
        constraints = cursor.fetchall()
        for name, _ in constraints:
            cursor.execute(f"ALTER TABLE {_quote(table)} DROP CONSTRAINT {_quote(name)}")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")  # regclass text: already quoted where needed
        yield True
        # Sorting the keys in memory instead of in temporary files: 3.4M bars' keys take ~100 MB.
        cursor.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'")
        for _, definition in indexes:
            cursor.execute(definition)
        for name, definition in constraints:
            cursor.execute(f"ALTER TABLE {_quote(table)} ADD CONSTRAINT {_quote(name)} {definition}")
