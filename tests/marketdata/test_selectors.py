"""The bars read: one binary COPY on PostgreSQL, the same panel as the long-frame path, never stale."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from django.db import transaction

from marketdata import selectors
from marketdata.models import DailyBar, Instrument
from marketdata.panel import GRID_FIELDS, Panel
from marketdata.selectors import bars_frame, bars_panel
from marketdata.services import bars_upsert

pytestmark = pytest.mark.django_db


def _load() -> pd.DataFrame:
    days = pd.bdate_range("2024-04-01", periods=6)
    rows = [(s, d) for s in ("AAA", "BBB", "CCC") for d in days]
    frame = pd.DataFrame(rows, columns=["symbol", "date"])
    n = len(frame)
    frame = frame.assign(
        series="EQ",
        open=np.linspace(10, 20, n),
        high=np.linspace(11, 21, n),
        low=np.linspace(9, 19, n),
        close=np.linspace(10.05, 20.05, n),
        prev_close=np.linspace(10, 20, n),
        volume=np.arange(n) * 100 + 5,
        trades=np.arange(n) + 1.0,
    )
    frame.loc[0, "prev_close"] = np.nan  # NULLs become NaN
    frame.loc[1, "trades"] = np.nan
    frame.loc[frame.index[-1], "series"] = "BE"  # a stock's series changes: the latest is its series
    frame = frame.drop(index=4)  # a gap: AAA has no bar on the fifth day
    with transaction.atomic():
        bars_upsert(frame=frame, exchange="NSE")
    return frame


def _reference_panel() -> Panel:
    """The panel built the slow, obvious way: ORM rows -> long frame -> Panel.from_long."""
    frame = pd.DataFrame.from_records(
        DailyBar.objects.values(
            "instrument_id", "date", "series", "open", "high", "low", "close", "prev_close", "volume", "trades"
        )
    )
    symbol_of = dict(Instrument.objects.values_list("id", "symbol"))
    panel = Panel.from_long(frame, key="instrument_id", instrument_ids=frame["instrument_id"])
    return replace(panel, symbols=np.array([symbol_of[int(i)] for i in panel.instrument_ids], dtype=object))


def _assert_same(panel: Panel, reference: Panel) -> None:
    np.testing.assert_array_equal(panel.dates, reference.dates)
    np.testing.assert_array_equal(panel.instrument_ids, reference.instrument_ids)
    assert list(panel.symbols) == list(reference.symbols)
    assert list(panel.series) == list(reference.series)
    assert (panel.day_series() == reference.day_series()).all()
    for name in GRID_FIELDS:
        if name != "series_code":
            np.testing.assert_array_equal(getattr(panel, name), getattr(reference, name), err_msg=name)


def test_bars_panel_equals_the_panel_of_the_long_rows() -> None:
    _load()
    panel = bars_panel(active_only=False)
    _assert_same(panel, _reference_panel())
    assert list(panel.series) == ["EQ", "EQ", "BE"]
    assert np.isnan(panel.prev_close[0, 0])
    assert np.isnan(panel.trades[1, 0])
    assert np.isnan(panel.close[4, 0])


def test_the_plain_cursor_path_reads_the_same_panel(monkeypatch: pytest.MonkeyPatch) -> None:
    _load()
    fast = bars_panel(active_only=False)
    monkeypatch.setattr(selectors, "_read_copy_binary", lambda sql, params: None)  # as on SQLite
    _assert_same(bars_panel(active_only=False), fast)


def test_bars_panel_filters_by_date_instrument_and_activity() -> None:
    _load()
    _aaa, bbb, ccc = Instrument.objects.order_by("symbol")
    Instrument.objects.filter(pk=ccc.pk).update(active=False)
    panel = bars_panel(start=dt.date(2024, 4, 2), end=dt.date(2024, 4, 4))
    assert list(panel.symbols) == ["AAA", "BBB"]
    assert panel.dates.tolist() == [dt.date(2024, 4, 2), dt.date(2024, 4, 3), dt.date(2024, 4, 4)]
    assert list(bars_panel(instrument_ids=[bbb.pk], active_only=False).symbols) == ["BBB"]


def test_a_changed_or_added_bar_is_seen_by_the_next_read() -> None:
    _load()
    before = bars_panel(active_only=False)
    bar = DailyBar.objects.get(instrument__symbol="BBB", date=dt.date(2024, 4, 3))
    DailyBar.objects.filter(pk=bar.pk).update(close=99.95)
    DailyBar.objects.create(
        instrument=bar.instrument, date=dt.date(2024, 4, 9), series="EQ", open=1, high=2, low=1, close=2, volume=7
    )
    after = bars_panel(active_only=False)
    assert len(after.dates) == len(before.dates) + 1
    col = list(after.symbols).index("BBB")
    assert after.close[list(after.dates).index(np.datetime64("2024-04-03")), col] == 99.95
    assert after.close[-1, col] == 2.0
    assert after.volume[-1, col] == 7.0
    _assert_same(after, _reference_panel())


def test_bars_frame_is_ordered_by_date_then_instrument_with_symbols_joined() -> None:
    _load()
    frame = bars_frame(active_only=False)
    assert list(frame.columns) == list(selectors.BAR_COLUMNS)
    assert len(frame) == DailyBar.objects.count()
    assert frame[["date", "instrument_id"]].equals(
        frame.sort_values(["date", "instrument_id"])[["date", "instrument_id"]]
    )
    assert set(frame["symbol"]) == {"AAA", "BBB", "CCC"}
    assert frame.loc[frame["series"] == "BE", "symbol"].tolist() == ["CCC"]
    assert bars_frame(instrument_ids=[-5]).empty
