"""Daily bars -> one CSV per trading day in NSE's legacy CM bhavcopy layout. Pure: pandas only.

The layout (``cm01APR2019bhav.csv``)::

    SYMBOL,SERIES,OPEN,HIGH,LOW,CLOSE,LAST,PREVCLOSE,TOTTRDQTY,TOTTRDVAL,TIMESTAMP,TOTALTRADES,ISIN,
    20MICRONS,EQ,39.45,40.55,38.05,40.15,40.1,38.2,70139,2786820.95,01-APR-2019,401,INE144J01027,

Every line ends with a comma (an empty last column), prices are rupees printed without trailing
zeros (``40.1``, ``1310``), TOTTRDQTY is shares, TOTTRDVAL rupees, TIMESTAMP ``DD-MON-YYYY`` with an
upper-case month, and rows are sorted by symbol. Input is a long frame in the normalised layout
(``symbol, series, isin, date, open, high, low, close, last, prev_close, volume, turnover, trades``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

HEADER: tuple[str, ...] = (
    "SYMBOL",
    "SERIES",
    "OPEN",
    "HIGH",
    "LOW",
    "CLOSE",
    "LAST",
    "PREVCLOSE",
    "TOTTRDQTY",
    "TOTTRDVAL",
    "TIMESTAMP",
    "TOTALTRADES",
    "ISIN",
    "",  # NSE's files end every line with a comma
)
_SOURCE: dict[str, str] = {
    "SYMBOL": "symbol",
    "SERIES": "series",
    "OPEN": "open",
    "HIGH": "high",
    "LOW": "low",
    "CLOSE": "close",
    "LAST": "last",
    "PREVCLOSE": "prev_close",
    "TOTTRDQTY": "volume",
    "TOTTRDVAL": "turnover",
    "TOTALTRADES": "trades",
    "ISIN": "isin",
}
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
# "1310.0," -> "1310,": NSE prints whole rupees without a decimal part.
_WHOLE = re.compile(r"\.0(?=,)")


def _day_text(day: dt.date) -> str:
    return f"{day.day:02d}{_MONTHS[day.month - 1]}{day.year}"


def bhavcopy_filename(day: dt.date) -> str:
    """``cm01APR2019bhav.csv`` for 1 April 2019."""
    return f"cm{_day_text(day)}bhav.csv"


def bhavcopy_text(bars: pd.DataFrame, *, day: dt.date) -> str:
    """One day's bars as the file's text (LF line ends, as in the real files)."""
    rows = bars.sort_values("symbol", kind="stable")
    out = pd.DataFrame({name: rows[_SOURCE[name]].to_numpy() for name in HEADER[:10]})
    out["TIMESTAMP"] = f"{day.day:02d}-{_MONTHS[day.month - 1]}-{day.year}"
    out["TOTALTRADES"] = rows["trades"].to_numpy()
    out["ISIN"] = rows["isin"].to_numpy()
    out[""] = ""
    for name in ("TOTTRDQTY", "TOTALTRADES"):
        out[name] = np.asarray(out[name], dtype=np.int64)
    text = out.to_csv(index=False, lineterminator="\n")
    return _WHOLE.sub("", text)


def _days(bars: pd.DataFrame) -> Iterator[tuple[dt.date, pd.DataFrame]]:
    dates = pd.to_datetime(bars["date"]).dt.normalize()
    for stamp, group in bars.groupby(dates, sort=True):
        yield pd.Timestamp(stamp).date(), group


def write_bhavcopies(bars: pd.DataFrame, *, out_dir: Path, on_file: Callable[[Path], None] | None = None) -> list[Path]:
    """Write one ``cmDDMONYYYYbhav.csv`` per date in ``bars`` into ``out_dir``; return the paths.

    Files are written whole under a temporary name and renamed, so a reader never sees half a
    file. ``on_file`` is called after each file (progress bars).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for day, group in _days(bars):
        path = out_dir / bhavcopy_filename(day)
        tmp = path.with_suffix(".csv.tmp")
        tmp.write_text(bhavcopy_text(group, day=day), encoding="ascii")
        tmp.replace(path)
        paths.append(path)
        if on_file is not None:
            on_file(path)
    return paths
