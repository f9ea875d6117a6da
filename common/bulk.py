"""Bulk upserts at COPY speed: one staging COPY and one ``INSERT ... ON CONFLICT`` per call.

On PostgreSQL the rows stream into a temporary staging table through ``COPY ... FROM STDIN`` (CSV)
and one ``INSERT INTO ... SELECT ... ON CONFLICT (...) DO UPDATE`` moves them into the table, so a
write of 11,000 rows is two statements instead of several batched multi-row INSERTs whose
parameters Django binds one by one. Elsewhere (SQLite: ``make demo``) the same statement runs
through ``executemany`` in the caller's transaction. Either way a re-run writes the same rows again
and never duplicates one: the conflict target is the table's unique key.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

_STAGE = "common_bulk_stage"


_NULL = "\\N"  # COPY ... (NULL '\N'): an empty field stays an empty string, as in a blank series


def _csv_value(value: Any) -> Any:
    if value is None:
        return _NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, float) and value != value:
        return _NULL
    if isinstance(value, list | dict):
        return json.dumps(value, allow_nan=False)
    return value


class _ChunkReader(io.RawIOBase):
    """A file over byte chunks for psycopg2's ``copy_expert``, which sends each ``read`` as it is."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        super().__init__()
        self._chunks = iter(chunks)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return next((chunk for chunk in self._chunks if chunk), b"")


def copy_in(cursor: Any, sql: str, payload: bytes | Iterable[bytes]) -> None:
    """``COPY ... FROM STDIN`` through the driver's cursor behind a Django cursor (psycopg2 or 3).

    ``payload`` is the whole stream, or an iterable of its chunks, built one at a time as the driver
    sends them: one COPY statement, with only the current chunk held in memory.
    """
    raw = cursor.cursor
    chunks = [payload] if isinstance(payload, bytes) else payload
    # The driver's cursor bypasses Django's error translation; this restores IntegrityError & co.
    with connection.wrap_database_errors:
        if hasattr(raw, "copy_expert"):  # psycopg2
            raw.copy_expert(sql, _ChunkReader(chunks))
        else:  # psycopg 3
            with raw.copy(sql) as copy:
                for chunk in chunks:
                    copy.write(chunk)


def bulk_upsert(
    *,
    model: type[models.Model],
    fields: Sequence[str],
    rows: Iterable[Sequence[Any]],
    unique: Sequence[str],
    update: Sequence[str],
    created_at: str | None = "created_at",
) -> int:
    """Insert ``rows`` (tuples in the order of ``fields``, column names) into ``model``'s table, or
    update ``update`` of the row with the same ``unique`` key. ``created_at`` (when named) is set to
    now on insert and kept on update. JSON columns take lists/dicts; NaN and None are NULL.
    Returns the number of rows given. Runs in its own savepoint.
    """
    data = [tuple(row) for row in rows]
    if not data:
        return 0
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = [*fields, *([created_at] if created_at else [])]
    target = ", ".join(quote(c) for c in columns)
    assign = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in update)
    conflict = f"ON CONFLICT ({', '.join(quote(c) for c in unique)}) DO UPDATE SET {assign}"
    now = [connection.ops.adapt_datetimefield_value(timezone.now())] if created_at else []
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            stage = quote(_STAGE)
            listed = ", ".join(quote(c) for c in fields)
            cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{stage}")
            # CTAS copies the column types and no constraints (COPY fills only ``fields``).
            cursor.execute(f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {listed} FROM {table} WITH NO DATA")
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerows([_csv_value(v) for v in row] for row in data)
            copy_in(
                cursor, f"COPY {stage} ({listed}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer.getvalue().encode()
            )
            stamp = ", %s" if created_at else ""
            cursor.execute(f"INSERT INTO {table} ({target}) SELECT {listed}{stamp} FROM {stage} {conflict}", now)
            cursor.execute(f"DROP TABLE {stage}")
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            params = [
                [json.dumps(v, allow_nan=False) if isinstance(v, list | dict) else v for v in row] + now for row in data
            ]
            cursor.executemany(f"INSERT INTO {table} ({target}) VALUES ({placeholders}) {conflict}", params)
    return len(data)
