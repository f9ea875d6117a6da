"""PostgreSQL's binary ``COPY`` format, built with numpy instead of formatting text row by row.

A binary COPY stream is ``HEADER``, then one tuple per row, then ``TRAILER``. A tuple is an int16
field count, then per field an int32 byte length (-1 for NULL, with no bytes after it) and the
value in network byte order: int8 as 8 bytes, float8 as an IEEE double, date as int32 days since
2000-01-01, text as its UTF-8 bytes. Rows whose NULLs and text lengths fall the same way have the
same byte layout, so ``encode_rows`` groups rows by layout and writes each group as one numpy
structured array (one ``tobytes()``): no Python loop over rows, and the server skips parsing text
numbers (``float8in`` is most of a text COPY's server time). Rows come out grouped by layout (the
groups in the order their first rows had), in their original order within a group; COPY does not
care about row order.

Pure: numpy only, no database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")  # signature, flags, no extension
TRAILER = b"\xff\xff"  # field count -1
_PG_EPOCH = np.datetime64("2000-01-01", "D")

Kind = Literal["int8", "float8", "date", "text"]
_FIXED = {"int8": (">i8", 8), "float8": (">f8", 8), "date": (">i4", 4)}


@dataclass(frozen=True)
class Column:
    """One column of rows to encode: ``values`` (R,), and ``widths`` (R,) int32, each field's byte
    length (-1 where NULL).

    Build it with ``int8``, ``float8``, ``date`` or ``text``, which check and convert the values.
    """

    kind: Kind
    values: np.ndarray
    widths: np.ndarray


def _fixed(kind: Kind, values: np.ndarray, null: np.ndarray) -> Column:
    return Column(kind, values, np.where(null, -1, _FIXED[kind][1]).astype(np.int32))


def int8(values: np.ndarray) -> Column:
    """Whole numbers (int or float dtype); NaN is NULL. Raises ValueError for a fraction."""
    array = np.asarray(values)
    if array.dtype.kind == "f":
        null = np.isnan(array)
        filled = np.where(null, 0.0, array)
        if (filled % 1 != 0).any():
            raise ValueError("an int8 column got a value that is not a whole number")
        return _fixed("int8", filled.astype(np.int64), null)
    return _fixed("int8", array.astype(np.int64), np.zeros(len(array), dtype=bool))


def float8(values: np.ndarray) -> Column:
    """Doubles; NaN is NULL (as in the text path, where NaN is written as an empty field)."""
    array = np.asarray(values, dtype=np.float64)
    return _fixed("float8", array, np.isnan(array))


def date(values: np.ndarray) -> Column:
    """``datetime64`` of any unit, truncated to the day; NaT is NULL."""
    days = np.asarray(values).astype("datetime64[D]")
    null = np.isnat(days)
    offset = (np.where(null, _PG_EPOCH, days) - _PG_EPOCH).astype(np.int64)
    return _fixed("date", offset.astype(np.int32), null)


def text(values: np.ndarray) -> Column:
    """Strings (object array); None is NULL. Encoded once per distinct value, not once per row."""
    codes, uniques = pd.factorize(pd.Series(np.asarray(values, dtype=object)), use_na_sentinel=True)
    encoded = np.array([str(value).encode("utf-8") for value in uniques] + [b""], dtype=object)
    lengths = np.array([len(value) for value in encoded], dtype=np.int32)
    lengths[-1] = -1  # code -1 (None) picks the last entry: NULL
    return Column("text", encoded[codes], lengths[codes])


def encode_rows(columns: Sequence[Column]) -> bytes:
    """The rows' tuples in binary COPY format, without ``HEADER`` and ``TRAILER``.

    ``columns`` are in the COPY statement's column order and all of one length.
    """
    if not columns:
        raise ValueError("encode_rows needs at least one column")
    rows = len(columns[0].values)
    if any(len(column.values) != rows or len(column.widths) != rows for column in columns):
        raise ValueError("encode_rows got columns of different lengths")
    if rows == 0:
        return b""
    widths = np.stack([column.widths for column in columns], axis=1)  # (R, C)
    # Only columns whose widths vary split the rows (usually none, or one nullable column).
    varying = np.flatnonzero(widths.min(axis=0) != widths.max(axis=0))
    if len(varying):
        _, first, group = np.unique(widths[:, varying], axis=0, return_index=True, return_inverse=True)
        group = group.reshape(-1)
        groups = [np.flatnonzero(group == number) for number in np.argsort(first)]  # first seen, first out
    else:
        groups = [np.arange(rows)]
    parts = []
    for where in groups:
        layout = widths[where[0]]
        fields: list[tuple[str, str]] = [("count", ">i2")]
        for index, (column, width) in enumerate(zip(columns, layout, strict=True)):
            fields.append((f"len{index}", ">i4"))
            if width > 0:
                fields.append((f"val{index}", f"S{width}" if column.kind == "text" else _FIXED[column.kind][0]))
        block = np.empty(len(where), dtype=np.dtype(fields))
        block["count"] = len(columns)
        for index, (column, width) in enumerate(zip(columns, layout, strict=True)):
            block[f"len{index}"] = width
            if width > 0:
                values = column.values[where]
                block[f"val{index}"] = values.astype(f"S{width}") if column.kind == "text" else values
        parts.append(block.tobytes())
    return b"".join(parts)
