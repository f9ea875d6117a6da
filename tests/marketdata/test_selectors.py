"""The bars read: one binary COPY on PostgreSQL, the same panel as the long-frame path, never stale."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from django.db import connection, connections, transaction

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
    monkeypatch.setattr(selectors, "_read_copy_binary", lambda queries, prices: None)  # as on SQLite
    _assert_same(bars_panel(active_only=False), fast)


def _assert_same_prices(prices: Panel, full: Panel) -> None:
    """A prices-only panel: the same dates, stocks, prices, volumes and bands; no series, no trades."""
    np.testing.assert_array_equal(prices.dates, full.dates)
    np.testing.assert_array_equal(prices.instrument_ids, full.instrument_ids)
    assert list(prices.symbols) == list(full.symbols)
    for name in ("open", "high", "low", "close", "prev_close", "volume", "band"):
        np.testing.assert_array_equal(getattr(prices, name), getattr(full, name), err_msg=name)
    assert np.isnan(prices.trades).all()
    assert set(prices.day_series()[prices.has_bar]) == {""}
    assert set(full.day_series()[full.has_bar]) == {"EQ", "BE"}  # the check bites


def test_a_prices_only_read_has_the_features_columns_and_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    _load()
    full = bars_panel(active_only=False)
    _assert_same_prices(bars_panel(active_only=False, prices=True), full)
    monkeypatch.setattr(selectors, "_read_copy_binary", lambda queries, prices: None)  # as on SQLite
    _assert_same_prices(bars_panel(active_only=False, prices=True), full)


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


@pytest.mark.django_db(transaction=True)
def test_a_long_read_outside_a_transaction_is_split_into_date_ranges() -> None:
    day = dt.date(2024, 1, 1)
    ranges = selectors._copy_ranges(day, day + dt.timedelta(days=365))
    assert len(ranges) == selectors.COPY_STREAMS == 2
    assert ranges[0][0] == day
    assert ranges[-1][1] == day + dt.timedelta(days=365)
    first_end, second_start = ranges[0][1], ranges[1][0]
    assert first_end is not None
    assert first_end + dt.timedelta(days=1) == second_start  # contiguous, no day read twice
    assert selectors._copy_ranges(day, day + dt.timedelta(days=5)) == [(day, day + dt.timedelta(days=5))]
    assert selectors._copy_ranges(None, day) == [(None, day)]
    year = (day, day + dt.timedelta(days=365))
    assert selectors._copy_ranges(*year, instruments=1) == [year]  # the API's on-demand read: one stream
    assert len(selectors._copy_ranges(*year, instruments=selectors.COPY_SPLIT_MIN_INSTRUMENTS)) == 2
    with transaction.atomic():  # a transaction's own bars are invisible to other connections
        assert selectors._copy_ranges(day, day + dt.timedelta(days=365)) == [(day, day + dt.timedelta(days=365))]


def _spy_streams(monkeypatch: pytest.MonkeyPatch, streams: int) -> list[str]:
    """Split every read of two days or more into ``streams``; returns the snapshots the helpers read."""
    monkeypatch.setattr(selectors, "COPY_STREAMS", streams)
    monkeypatch.setattr(selectors, "COPY_SPLIT_MIN_DAYS", 1)
    seen: list[str] = []
    real = selectors._copy_out_in_snapshot

    def spy(alias: str, snapshot: str, *query: Any) -> object:
        seen.append(snapshot)
        return real(alias, snapshot, *query)

    monkeypatch.setattr(selectors, "_copy_out_in_snapshot", spy)
    return seen


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("streams", [2, 3])
def test_parallel_streams_read_the_same_panel(monkeypatch: pytest.MonkeyPatch, streams: int) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("parallel COPY streams are a PostgreSQL path")
    _load()
    single = bars_panel(start=dt.date(2024, 4, 1), end=dt.date(2024, 4, 8), active_only=False)
    seen = _spy_streams(monkeypatch, streams)
    # As in a Celery task on a kept connection: Django's health check (a SELECT 1) is still due, and
    # must not become the first statement of the read's REPEATABLE READ transaction.
    enabled = connection.health_check_enabled
    connection.health_check_enabled, connection.health_check_done = True, False
    try:
        split = bars_panel(start=dt.date(2024, 4, 1), end=dt.date(2024, 4, 8), active_only=False)
    finally:
        connection.health_check_enabled = enabled
    assert len(seen) == streams - 1  # one helper per extra stream
    assert len(set(seen)) == 1  # all on one exported snapshot
    _assert_same(split, single)
    _assert_same(split, _reference_panel())
    assert not connection.in_atomic_block  # the read's own transaction is closed
    prices = bars_panel(start=dt.date(2024, 4, 1), end=dt.date(2024, 4, 8), active_only=False, prices=True)
    assert len(seen) == 2 * (streams - 1)
    _assert_same_prices(prices, single)


@pytest.mark.django_db(transaction=True)
def test_a_helper_stream_reads_the_snapshot_not_later_commits() -> None:
    """The parts of a split read are one consistent read: a bar committed by someone else after the
    snapshot was exported is not in a helper's part, and the next read sees it."""
    if connection.vendor != "postgresql":
        pytest.skip("exported snapshots are a PostgreSQL feature")
    _load()
    bar = DailyBar.objects.get(instrument__symbol="BBB", date=dt.date(2024, 4, 3))
    where, params = selectors._bars_where(instrument_ids=None, start=None, end=None, active_only=False, exchange=None)
    sql = f"SELECT {selectors.BINARY_SELECT} FROM marketdata_dailybar b WHERE {where}"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        writer = connections.create_connection(connection.alias)
        try:
            with writer.cursor() as other:  # autocommit: committed at once
                other.execute("UPDATE marketdata_dailybar SET close = 99.95 WHERE id = %s", [bar.pk])
        finally:
            writer.close()
        part = selectors._copy_out_in_snapshot(connection.alias, snapshot, sql, params)
    assert part is not None
    assert len(part) == DailyBar.objects.count()
    assert 99.95 not in part.values["close"].tolist()
    assert bar.close in part.values["close"].tolist()
    assert 99.95 in bars_panel(active_only=False).close


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
