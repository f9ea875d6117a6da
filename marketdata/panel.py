"""The panel: a market's daily bars as wide numpy arrays, the input of every pure computation.

Every price array is shaped ``(T dates, N stocks)``, float64, NaN where a stock has no bar that
day. Dates are the market's trading dates in ascending order (the union over all stocks), so
"the next trading day" is simply the next row.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]

PANEL_FIELDS: tuple[str, ...] = ("open", "high", "low", "close", "prev_close", "volume", "trades")
LONG_COLUMNS: tuple[str, ...] = ("symbol", "date", *PANEL_FIELDS)
# Every (T, N) array of a panel: the bar fields; the band in force on each date (percent; NaN where
# no band file covers the date, 0 where the stock has no band); and the series the stock traded in
# that day (an index into ``series_names``, NaN without a bar). A stock's series changes (EQ <-> BE),
# so anything that slices by series must read the day's, never the latest.
GRID_FIELDS: tuple[str, ...] = (*PANEL_FIELDS, "band", "series_code")


@dataclass(frozen=True)
class Panel:
    dates: npt.NDArray[np.datetime64]  # (T,) datetime64[D]
    symbols: npt.NDArray[np.object_]  # (N,) str
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    prev_close: FloatArray
    volume: FloatArray
    trades: FloatArray
    series: npt.NDArray[np.object_] = field(default_factory=lambda: np.array([], dtype=object))  # (N,) latest
    instrument_ids: npt.NDArray[np.int64] = field(default_factory=lambda: np.array([], dtype=np.int64))
    band: FloatArray = field(default_factory=lambda: np.empty((0, 0), dtype=np.float64))  # (T, N), NaN=infer
    series_code: FloatArray = field(default_factory=lambda: np.empty((0, 0), dtype=np.float64))  # (T, N)
    series_names: npt.NDArray[np.object_] = field(default_factory=lambda: np.array([], dtype=object))  # (K,)

    fields: ClassVar[tuple[str, ...]] = PANEL_FIELDS

    def __post_init__(self) -> None:
        t_len, n_len = len(self.dates), len(self.symbols)
        for name in PANEL_FIELDS:
            arr = getattr(self, name)
            if arr.shape != (t_len, n_len):
                raise ValueError(f"panel field {name} has shape {arr.shape}, expected {(t_len, n_len)}")
        # Optional per-stock columns default to "unknown" of the right length.
        if len(self.series) != n_len:
            object.__setattr__(self, "series", np.array([""] * n_len, dtype=object))
        if len(self.instrument_ids) != n_len:
            object.__setattr__(self, "instrument_ids", np.full(n_len, -1, dtype=np.int64))
        if self.band.shape != (t_len, n_len):
            if self.band.size:
                raise ValueError(f"panel band has shape {self.band.shape}, expected {(t_len, n_len)}")
            object.__setattr__(self, "band", np.full((t_len, n_len), np.nan))
        if self.series_code.shape != (t_len, n_len):
            if self.series_code.size:
                raise ValueError(f"panel series_code has shape {self.series_code.shape}, expected {(t_len, n_len)}")
            # Without a daily series, each bar carries the stock's one series (a synthetic market).
            names, codes = np.unique(self.series.astype(str), return_inverse=True)
            daily = np.where(self.has_bar, codes[None, :].astype(np.float64), np.nan)
            object.__setattr__(self, "series_code", daily)
            object.__setattr__(self, "series_names", names.astype(object))

    def day_series(self) -> npt.NDArray[np.object_]:
        """(T, N) the series each stock traded in on each date ("" without a bar)."""
        return self._series_names_of(self.series_code)

    def series_at(self, date_idx: npt.ArrayLike, stock_idx: npt.ArrayLike) -> npt.NDArray[np.object_]:
        """(R,) the series of each (date, stock) row, without building the whole (T, N) grid."""
        return self._series_names_of(self.series_code[np.asarray(date_idx), np.asarray(stock_idx)])

    def _series_names_of(self, codes: FloatArray) -> npt.NDArray[np.object_]:
        names = np.append(np.asarray(self.series_names, dtype=object), "")
        return names[np.where(np.isnan(codes), len(names) - 1, codes).astype(np.int64)]

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.dates), len(self.symbols))

    @property
    def has_bar(self) -> npt.NDArray[np.bool_]:
        return ~np.isnan(self.close)

    def _row(self, day: np.datetime64 | str, side: Literal["left", "right"]) -> int:
        return int(np.searchsorted(self.dates, np.asarray([day], dtype="datetime64[D]"), side=side)[0])

    def until(self, last_date: np.datetime64 | str) -> Panel:
        """The panel truncated after ``last_date`` (inclusive): what was known on that evening."""
        cut = self._row(last_date, "right")
        return replace(self, dates=self.dates[:cut], **{f: getattr(self, f)[:cut] for f in GRID_FIELDS})

    def between(self, first_date: np.datetime64 | str, last_date: np.datetime64 | str) -> Panel:
        lo = self._row(first_date, "left")
        hi = self._row(last_date, "right")
        return replace(self, dates=self.dates[lo:hi], **{f: getattr(self, f)[lo:hi] for f in GRID_FIELDS})

    def take(self, columns: npt.ArrayLike) -> Panel:
        """A panel of a subset of stocks (indices or a boolean mask over N)."""
        idx = np.asarray(columns)
        return replace(
            self,
            symbols=self.symbols[idx],
            series=self.series[idx],
            instrument_ids=self.instrument_ids[idx],
            **{f: getattr(self, f)[:, idx] for f in GRID_FIELDS},
        )

    @classmethod
    def from_long(
        cls,
        frame: pd.DataFrame,
        *,
        key: str = "symbol",
        instrument_ids: pd.Series | None = None,
    ) -> Panel:
        """Build a panel from long rows ``symbol, date, open, high, low, close, prev_close, volume,
        trades`` (plus optional ``series`` and ``band``, the band in force on the row's date). ``key``
        names the stock column; the last row per stock gives its series. Duplicate (stock, date) rows
        are an error.
        """
        missing = [c for c in (key, "date", *PANEL_FIELDS) if c not in frame.columns and c != "trades"]
        if missing:
            raise ValueError(f"panel input lacks columns {missing}")
        dates = pd.to_datetime(frame["date"]).to_numpy().astype("datetime64[D]")
        date_codes, uniq_dates = pd.factorize(dates, sort=True)
        stock_codes, uniq_stocks = pd.factorize(frame[key], sort=True)
        uniq_stocks = np.asarray(uniq_stocks).astype(str)
        t_len, n_len = len(uniq_dates), len(uniq_stocks)
        flat = date_codes.astype(np.int64) * n_len + stock_codes
        if len(flat) and np.bincount(flat, minlength=t_len * n_len).max() > 1:
            raise ValueError("panel input has duplicate (stock, date) rows")
        arrays: dict[str, FloatArray] = {}
        series_codes, series_names = pd.factorize(
            frame["series"].astype(str) if "series" in frame.columns else pd.Series([""] * len(frame)), sort=True
        )
        columns = {name: frame[name] for name in GRID_FIELDS if name in frame.columns}
        columns["series_code"] = pd.Series(series_codes, index=frame.index)
        for name in GRID_FIELDS:
            out = np.full(t_len * n_len, np.nan)
            if name in columns:
                out[flat] = pd.to_numeric(columns[name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            arrays[name] = out.reshape(t_len, n_len)
        order = np.argsort(date_codes, kind="stable")
        last_row = pd.Series(order).groupby(stock_codes[order]).last().to_numpy()
        series = (
            frame["series"].astype(str).to_numpy()[last_row].astype(object)
            if "series" in frame.columns
            else np.array([""] * n_len, dtype=object)
        )
        ids = (
            np.asarray(instrument_ids, dtype=np.int64)[last_row]
            if instrument_ids is not None
            else np.full(n_len, -1, dtype=np.int64)
        )
        return cls(
            dates=np.asarray(uniq_dates).astype("datetime64[D]"),
            symbols=np.asarray(uniq_stocks, dtype=object),
            series=series,
            instrument_ids=ids,
            series_names=np.asarray(series_names, dtype=object),
            **arrays,
        )

    def to_long(self) -> pd.DataFrame:
        """Back to long rows, one per stock-day with a bar."""
        t_idx, n_idx = np.nonzero(self.has_bar)
        data: dict[str, object] = {
            "symbol": self.symbols[n_idx],
            "date": self.dates[t_idx],
            "series": self.day_series()[t_idx, n_idx],
        }
        for name in PANEL_FIELDS:
            data[name] = getattr(self, name)[t_idx, n_idx]
        return pd.DataFrame(data)
