"""common.pgbinary: PostgreSQL's binary COPY format built with numpy (pure: no database here)."""

from __future__ import annotations

import datetime as dt
import struct
from typing import Any

import numpy as np
import pytest

from common import pgbinary


def _decode(data: bytes, kinds: list[str]) -> list[tuple[Any, ...]]:
    """A plain struct reader of the tuples (the spec, written independently of the encoder)."""
    rows, offset = [], 0
    while offset < len(data):
        (count,) = struct.unpack_from(">h", data, offset)
        offset += 2
        assert count == len(kinds)
        row: list[Any] = []
        for kind in kinds:
            (length,) = struct.unpack_from(">i", data, offset)
            offset += 4
            if length == -1:
                row.append(None)
                continue
            raw = data[offset : offset + length]
            offset += length
            if kind == "int8":
                row.append(struct.unpack(">q", raw)[0])
            elif kind == "float8":
                row.append(struct.unpack(">d", raw)[0])
            elif kind == "date":
                row.append(dt.date(2000, 1, 1) + dt.timedelta(days=struct.unpack(">i", raw)[0]))
            else:
                row.append(raw.decode("utf-8"))
        rows.append(tuple(row))
    return rows


def test_header_and_trailer_are_the_ones_the_postgresql_manual_gives() -> None:
    assert pgbinary.HEADER == b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
    assert struct.pack(">h", -1) == pgbinary.TRAILER


def test_edge_values_decode_to_the_values_given() -> None:
    dates = np.array(["1999-12-31", "2000-01-01", "2000-12-31", "2001-01-01", "2024-12-31", "1970-01-01"], "M8[ns]")
    columns = [
        pgbinary.int8(np.array([0, -1, 2**62, -(2**62), 9_007_199_254_740_992, 1])),
        pgbinary.int8(np.array([0.0, np.nan, 1e15, 123.0, np.nan, -5.0])),
        pgbinary.float8(np.array([0.0, -1.5, 1e308, 5e-324, np.nan, 0.05])),
        pgbinary.date(dates),
        pgbinary.text(np.array(["EQ", "", "SM", "é", None, "EQ"], dtype=object)),
    ]
    decoded = _decode(pgbinary.encode_rows(columns), ["int8", "int8", "float8", "date", "text"])
    expected = [
        (0, 0, 0.0, dt.date(1999, 12, 31), "EQ"),
        (-1, None, -1.5, dt.date(2000, 1, 1), ""),
        (2**62, 10**15, 1e308, dt.date(2000, 12, 31), "SM"),
        (-(2**62), 123, 5e-324, dt.date(2001, 1, 1), "é"),
        (9_007_199_254_740_992, None, None, dt.date(2024, 12, 31), None),
        (1, -5, 0.05, dt.date(1970, 1, 1), "EQ"),
    ]
    # Rows come grouped by layout (NULLs, text lengths): compare as sets, and every row once.
    assert len(decoded) == len(expected)
    assert sorted(decoded, key=repr) == sorted(expected, key=repr)


def test_rows_of_one_layout_keep_their_order() -> None:
    values = np.arange(1000)
    decoded = _decode(pgbinary.encode_rows([pgbinary.int8(values), pgbinary.float8(values * 0.5)]), ["int8", "float8"])
    assert decoded == [(int(v), v * 0.5) for v in values]


def test_nat_is_null_and_an_empty_input_encodes_to_nothing() -> None:
    decoded = _decode(pgbinary.encode_rows([pgbinary.date(np.array(["2024-01-02", "NaT"], "M8[s]"))]), ["date"])
    assert decoded == [(dt.date(2024, 1, 2),), (None,)]
    assert pgbinary.encode_rows([pgbinary.int8(np.array([], dtype=np.int64))]) == b""


def test_int8_refuses_a_fraction_and_columns_must_line_up() -> None:
    with pytest.raises(ValueError, match="whole number"):
        pgbinary.int8(np.array([1.5]))
    with pytest.raises(ValueError, match="different lengths"):
        pgbinary.encode_rows([pgbinary.int8(np.array([1, 2])), pgbinary.float8(np.array([1.0]))])
    with pytest.raises(ValueError, match="at least one column"):
        pgbinary.encode_rows([])
