"""Bars as flat numpy columns, and the panel built from them without a pandas detour.

``BarColumns`` is what a bars read returns: one row per stored bar, in no particular order,
numeric columns only (the symbols are joined in memory from the ids). ``parse_copy_binary`` reads
PostgreSQL's binary ``COPY`` output of ``BINARY_SELECT`` straight into those columns with one
``np.frombuffer`` (every field is fixed width, so every row has the same byte length), and
``panel_from_columns`` scatters them into the (T, N) grids of a ``Panel`` in O(rows). No Django here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from marketdata.panel import PANEL_FIELDS, Panel

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# PostgreSQL's binary COPY: an 11-byte signature, int32 flags, int32 header-extension length (0).
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_HEADER = len(_SIGNATURE) + 8
_TRAILER = 2  # int16 -1
_PG_EPOCH = np.datetime64("2000-01-01", "D")
_FIELD_COUNT = 3 + len(PANEL_FIELDS)
SERIES_WIDTH = 4  # DailyBar.series is varchar(4); the query pads it so the field is fixed width

# Each field is preceded by its int32 byte length; NULLs are coalesced away in the query (NaN), so
# no field is ever absent and every row is ROW_DTYPE.itemsize bytes.
ROW_DTYPE = np.dtype(
    [("n", ">i2"), ("l_id", ">i4"), ("id", ">i8"), ("l_date", ">i4"), ("date", ">i4")]
    + [("l_series", ">i4"), ("series", f"S{SERIES_WIDTH}")]
    + [item for name in PANEL_FIELDS for item in ((f"l_{name}", ">i4"), (name, ">f8"))]
)

# The select list whose binary COPY ``parse_copy_binary`` reads (``b`` is the bars table).
BINARY_SELECT = (
    "b.instrument_id::int8, b.date, rpad(b.series, 4)::text, b.open::float8, b.high::float8, b.low::float8, "
    "b.close::float8, coalesce(b.prev_close, 'NaN')::float8, b.volume::float8, coalesce(b.trades::float8, 'NaN')"
)


# The features read prices and volume only: no series, no trades. Those two fields are about a quarter
# of the server's COPY work (1.49 vs 1.93 s of one backend's CPU for 2.78M bars).
PRICE_FIELDS: tuple[str, ...] = ("open", "high", "low", "close", "prev_close", "volume")
PRICES_ROW_DTYPE = np.dtype(
    [("n", ">i2"), ("l_id", ">i4"), ("id", ">i8"), ("l_date", ">i4"), ("date", ">i4")]
    + [item for name in PRICE_FIELDS for item in ((f"l_{name}", ">i4"), (name, ">f8"))]
)
PRICES_SELECT = (
    "b.instrument_id::int8, b.date, b.open::float8, b.high::float8, b.low::float8, b.close::float8, "
    "coalesce(b.prev_close, 'NaN')::float8, b.volume::float8"
)


class CopyLayoutError(ValueError):
    """The COPY output is not the fixed-width layout expected (e.g. a non-ASCII series)."""


@dataclass(frozen=True)
class BarColumns:
    """(R,) columns of R bars: instrument id, date, series (index into ``series_names``), fields."""

    instrument_id: IntArray
    date: npt.NDArray[np.datetime64]  # datetime64[D]
    series_code: IntArray
    series_names: npt.NDArray[np.object_]  # (K,) sorted
    values: Mapping[str, FloatArray]  # PANEL_FIELDS -> (R,) float64, NaN where unknown

    def __len__(self) -> int:
        return len(self.instrument_id)

    @classmethod
    def from_rows(
        cls, ids: npt.ArrayLike, dates: npt.ArrayLike, series: npt.ArrayLike, values: Mapping[str, npt.ArrayLike]
    ) -> BarColumns:
        """Columns from plain sequences (a cursor's rows); ``values`` may hold None for NULL."""
        codes, names = pd.factorize(pd.Series(np.asarray(series, dtype=object)).fillna("").astype(str), sort=True)
        return cls(
            instrument_id=np.asarray(ids, dtype=np.int64),
            date=np.asarray(pd.to_datetime(pd.Series(dates, dtype=object)), dtype="datetime64[D]")
            if len(codes)
            else np.array([], dtype="datetime64[D]"),
            series_code=codes.astype(np.int64),
            series_names=np.asarray(names, dtype=object),
            values={
                name: pd.to_numeric(pd.Series(values[name], dtype=object), errors="coerce").to_numpy(
                    dtype=np.float64, na_value=np.nan
                )
                for name in PANEL_FIELDS
            },
        )


def prices_only(columns: BarColumns) -> BarColumns:
    """``columns`` as a prices-only read gives them: series "" and trades NaN on every row."""
    return BarColumns(
        instrument_id=columns.instrument_id,
        date=columns.date,
        series_code=np.zeros(len(columns), dtype=np.int64),
        series_names=np.array([""], dtype=object),
        values={
            name: columns.values[name] if name in PRICE_FIELDS else np.full(len(columns), np.nan)
            for name in PANEL_FIELDS
        },
    )


def parse_copy_binary(data: bytes | bytearray | memoryview, *, prices: bool = False) -> BarColumns:
    """Columns from the binary ``COPY (SELECT BINARY_SELECT ...) TO STDOUT (FORMAT binary)`` output,
    or of ``PRICES_SELECT`` when ``prices`` (series "" and trades NaN, as ``prices_only`` gives).

    Raises ``CopyLayoutError`` when the bytes are not rows of ``ROW_DTYPE`` (the caller then falls
    back to a text read).
    """
    view = memoryview(data)
    if bytes(view[: len(_SIGNATURE)]) != _SIGNATURE:
        raise CopyLayoutError("not a binary COPY stream")
    extension = int.from_bytes(view[len(_SIGNATURE) + 4 : _HEADER], "big")
    body = view[_HEADER + extension : len(view) - _TRAILER]
    dtype = PRICES_ROW_DTYPE if prices else ROW_DTYPE
    if len(body) % dtype.itemsize:
        raise CopyLayoutError("binary COPY rows are not of fixed width")
    rows = np.frombuffer(body, dtype=dtype)
    if prices:
        if len(rows) and ((rows["n"] != 2 + len(PRICE_FIELDS)).any() or (rows["l_date"] != 4).any()):
            raise CopyLayoutError("binary COPY rows do not have the expected fields")
        return BarColumns(
            instrument_id=rows["id"].astype(np.int64),
            date=_PG_EPOCH + rows["date"].astype(np.int64).astype("timedelta64[D]"),
            series_code=np.zeros(len(rows), dtype=np.int64),
            series_names=np.array([""], dtype=object),
            values={
                name: rows[name].astype(np.float64) if name in PRICE_FIELDS else np.full(len(rows), np.nan)
                for name in PANEL_FIELDS
            },
        )
    if len(rows) and (
        (rows["n"] != _FIELD_COUNT).any() or (rows["l_series"] != SERIES_WIDTH).any() or (rows["l_date"] != 4).any()
    ):
        raise CopyLayoutError("binary COPY rows do not have the expected fields")
    raw_series = np.ascontiguousarray(rows["series"])
    codes, uniques = pd.factorize(raw_series.view(np.uint32), sort=False)
    words = np.asarray(uniques, dtype=np.uint32).view(f"S{SERIES_WIDTH}")
    names = np.array([w.decode("utf-8", "replace").strip() for w in words.tolist()], dtype=object)
    # Sorted names (as pandas' factorize(sort=True) gives them), codes remapped to match.
    order = np.argsort(names.astype(str), kind="stable")
    remap = np.empty(len(order), dtype=np.int64)
    remap[order] = np.arange(len(order))
    return BarColumns(
        instrument_id=rows["id"].astype(np.int64),
        date=_PG_EPOCH + rows["date"].astype(np.int64).astype("timedelta64[D]"),
        series_code=remap[codes] if len(codes) else codes.astype(np.int64),
        series_names=names[order],
        values={name: rows[name].astype(np.float64) for name in PANEL_FIELDS},
    )


def concat_columns(parts: Sequence[BarColumns]) -> BarColumns:
    """The rows of every part in one ``BarColumns`` (parts of one read, e.g. its date ranges), the
    series codes remapped onto the union of the parts' sorted series names."""
    if len(parts) == 1:
        return parts[0]
    names = np.array(sorted({str(n) for part in parts for n in part.series_names}), dtype=object)
    position = {name: k for k, name in enumerate(names)}
    codes = []
    for part in parts:
        remap = np.array([position[str(n)] for n in part.series_names], dtype=np.int64)
        codes.append(remap[part.series_code] if len(part) else part.series_code.astype(np.int64))
    return BarColumns(
        instrument_id=np.concatenate([p.instrument_id for p in parts]),
        date=np.concatenate([p.date for p in parts]),
        series_code=np.concatenate(codes),
        series_names=names,
        values={name: np.concatenate([p.values[name] for p in parts]) for name in PANEL_FIELDS},
    )


def _dense_codes(values: IntArray) -> tuple[IntArray, IntArray]:
    """(codes, sorted uniques) of small non-negative ints in O(n), falling back to a sort when sparse."""
    if not len(values):
        return values.astype(np.int64), values.astype(np.int64)
    low, high = int(values.min()), int(values.max())
    if low < 0 or high - low > 8 * len(values) + 1_000_000:
        uniques, codes = np.unique(values, return_inverse=True)
        return codes.astype(np.int64), uniques.astype(np.int64)
    present = np.zeros(high - low + 1, dtype=bool)
    present[values - low] = True
    lookup = np.cumsum(present) - 1
    return lookup[values - low].astype(np.int64), np.flatnonzero(present).astype(np.int64) + low


def panel_from_columns(columns: BarColumns, *, symbol_of: Mapping[int, str]) -> Panel:
    """The (dates x instruments) panel of ``columns``, stocks keyed by ascending instrument id.

    Equal to ``Panel.from_long(frame, key="instrument_id", ...)`` of the same bars, without the
    frame: the dates are the union of the bars' dates, the stock's series is that of its latest bar.
    Raises ValueError on duplicate (instrument, date) rows, LookupError on an id without a symbol.
    """
    day_numbers = columns.date.astype("datetime64[D]").astype(np.int64)
    t_codes, t_uniques = _dense_codes(day_numbers)
    n_codes, ids = _dense_codes(columns.instrument_id)
    t_len, n_len = len(t_uniques), len(ids)
    flat = t_codes * n_len + n_codes
    if len(flat) and np.bincount(flat, minlength=t_len * n_len).max() > 1:
        raise ValueError("panel input has duplicate (stock, date) rows")
    grids: dict[str, FloatArray] = {}
    for name in (*PANEL_FIELDS, "series_code"):
        grid = np.full(t_len * n_len, np.nan)
        grid[flat] = columns.series_code if name == "series_code" else columns.values[name]
        grids[name] = grid.reshape(t_len, n_len)
    has_bar = ~np.isnan(grids["close"])
    last_row = t_len - 1 - np.argmax(has_bar[::-1], axis=0) if t_len else np.zeros(0, dtype=np.int64)
    latest_codes = grids["series_code"][last_row, np.arange(n_len)] if t_len else np.zeros(0)
    series = (
        np.asarray(columns.series_names, dtype=object)[latest_codes.astype(np.int64)]
        if n_len
        else np.array([], dtype=object)
    )
    missing = [int(i) for i in ids if int(i) not in symbol_of]
    if missing:
        raise LookupError(f"bars of unknown instruments {missing[:10]}")
    return Panel(
        dates=t_uniques.astype("datetime64[D]"),
        symbols=np.array([symbol_of[int(i)] for i in ids], dtype=object),
        series=np.asarray(series, dtype=object),
        instrument_ids=ids,
        series_names=np.asarray(columns.series_names, dtype=object),
        **grids,
    )
