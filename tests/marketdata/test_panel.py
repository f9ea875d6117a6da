"""The panel: wide (T, N) arrays of bars, bands and each day's series, truncated without the future."""

from __future__ import annotations

import numpy as np
import pandas as pd

from marketdata.panel import Panel
from modelregistry.datasets import panel_dataset
from modelregistry.training import INFO_SERIES


def _long() -> pd.DataFrame:
    days = pd.date_range("2024-01-01", periods=4, freq="D")
    rows = []
    for i, day in enumerate(days):
        # MOVER trades in EQ, then is moved to BE (trade-for-trade) on the third day.
        rows.append({"symbol": "MOVER", "date": day, "series": "EQ" if i < 2 else "BE", "close": 10.0 + i})
        rows.append({"symbol": "STEADY", "date": day, "series": "EQ", "close": 20.0 + i})
    frame = pd.DataFrame(rows)
    for column in ("open", "high", "low", "prev_close"):
        frame[column] = frame["close"]
    frame["volume"] = 100.0
    return frame


def test_each_day_keeps_the_series_the_stock_traded_in_that_day() -> None:
    panel = Panel.from_long(_long())
    mover = list(panel.symbols).index("MOVER")
    assert panel.day_series()[:, mover].tolist() == ["EQ", "EQ", "BE", "BE"]
    assert panel.series[mover] == "BE"  # the latest, for display only
    early = panel.until(panel.dates[1])
    assert early.day_series()[:, mover].tolist() == ["EQ", "EQ"]
    assert panel.series_at([0, 3], [mover, mover]).tolist() == ["EQ", "BE"]


def test_training_rows_carry_the_series_of_their_own_day() -> None:
    data = panel_dataset(Panel.from_long(_long()), horizon=1)
    ds = data.dataset
    mover = list(data.panel.symbols).index("MOVER")
    rows = ds.stock_idx == mover
    assert ds.info[INFO_SERIES][rows].tolist() == ["EQ", "EQ", "BE"]  # the last date has no label


def test_a_panel_built_without_daily_series_uses_each_stock_s_one_series() -> None:
    t, n = 3, 2
    close = np.full((t, n), 10.0)
    close[0, 1] = np.nan
    panel = Panel(
        dates=np.arange("2024-01-01", "2024-01-04", dtype="datetime64[D]"),
        symbols=np.array(["A", "B"], dtype=object),
        series=np.array(["EQ", "SM"], dtype=object),
        **dict.fromkeys(("open", "high", "low", "close", "prev_close", "volume", "trades"), close),
    )
    assert panel.day_series().tolist() == [["EQ", ""], ["EQ", "SM"], ["EQ", "SM"]]
