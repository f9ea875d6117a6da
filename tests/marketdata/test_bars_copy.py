"""marketdata.bars_copy: bars_upsert's binary COPY and bulk window on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import psycopg2
import pytest
from django.db import DataError, IntegrityError, connection, transaction

from common import pgbinary
from marketdata import bars_copy, services
from marketdata.models import DailyBar, Instrument
from marketdata.services import UpsertCounts, bars_upsert

pytestmark = pytest.mark.django_db

VALUES = ("series", "open", "high", "low", "close", "last", "prev_close", "volume", "turnover", "trades")


def _edge_frame() -> pd.DataFrame:
    """Values at the edges: NULLs in every optional column, zero and negative numbers, volumes past
    2**31 and near 2**53, dates around 2000-01-01 (the binary format's day 0) and the year ends."""
    dates = ["1999-12-31", "2000-01-01", "2000-12-31", "2001-01-01", "2024-12-31", "2025-01-01"]
    return pd.DataFrame(
        {
            "symbol": ["AAA", "AAA", "BBB", "BBB", "CCC", "CCC"],
            "date": pd.to_datetime(dates),
            "series": ["EQ", "", "BE", "SM", "", "EQ"],
            "open": [10.0, 0.0, -1.5, 1e-9, 123456789.123, 0.05],
            "high": [11.0, 0.0, 2.0, 1e-9, 123456789.125, 0.05],
            "low": [9.0, 0.0, -3.25, 0.0, 1.0, 0.05],
            "close": [10.5, 0.0, 1.0, 1e-9, 99.95, 0.05],
            "last": [10.4, np.nan, 1.0, np.nan, 99.9, np.nan],
            "prev_close": [np.nan, 10.5, np.nan, 1.0, 1.0, 99.95],
            "volume": [0, 1, 2**31 + 7, 9_007_199_254_740_992, 5, 6],
            "turnover": [np.nan, 0.0, 1e15, np.nan, 3.5, np.nan],
            "trades": [np.nan, 0, 2**40, np.nan, 1, np.nan],
        }
    )


def _stored(exchange: str) -> list[tuple[Any, ...]]:
    rows = DailyBar.objects.filter(instrument__exchange=exchange).order_by("instrument__symbol", "date")
    return list(rows.values_list("instrument__symbol", "date", *VALUES))


def _schema() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """DailyBar's indexes and constraints, each as (name, definition)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index"
            " WHERE indrelid = 'marketdata_dailybar'::regclass ORDER BY 1"
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'marketdata_dailybar'::regclass ORDER BY 1"
        )
        return indexes, cursor.fetchall()


@pytest.fixture
def window_opened(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Every bulk window's decision, with the size floor lowered so small test loads qualify."""
    monkeypatch.setattr(bars_copy, "BULK_MIN_ROWS", 1)
    seen: list[bool] = []
    window = bars_copy.bulk_window

    def spy(*, rows: int) -> Any:
        class Spy:
            def __enter__(self) -> bool:
                self.inner = window(rows=rows)
                opened = self.inner.__enter__()
                seen.append(opened)
                return opened

            def __exit__(self, *exc: Any) -> Any:
                return self.inner.__exit__(*exc)

        return Spy()

    monkeypatch.setattr(bars_copy, "bulk_window", spy)
    return seen


def test_binary_copy_stores_edge_values_as_the_portable_path_does(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = _edge_frame()
    with transaction.atomic():
        assert bars_upsert(frame=frame, exchange="NSE") == UpsertCounts(inserted=6)
    monkeypatch.setattr(services, "_uses_copy", lambda: False)  # the executemany path, as on SQLite
    with transaction.atomic():
        assert bars_upsert(frame=frame, exchange="BSE") == UpsertCounts(inserted=6)
    copied = _stored("NSE")
    assert copied == _stored("BSE")
    assert copied[0][3:] == ("EQ", 10.0, 11.0, 9.0, 10.5, 10.4, None, 0, None, None)[1:]
    assert {row[1].year for row in copied} == {1999, 2000, 2001, 2024, 2025}
    assert max(row[9] for row in copied) == 9_007_199_254_740_992


def test_the_staged_upsert_reads_the_binary_payload_too() -> None:
    frame = _edge_frame()
    with transaction.atomic():
        bars_upsert(frame=frame, exchange="NSE")
    # Earlier dates than the stored ones go through the staging table and the diff.
    assert bars_upsert(frame=frame, exchange="NSE") == UpsertCounts(unchanged=6)
    changed = frame.assign(trades=frame["trades"].fillna(3))
    assert bars_upsert(frame=changed, exchange="NSE") == UpsertCounts(updated=3, unchanged=3)
    assert sorted(DailyBar.objects.values_list("trades", flat=True)) == sorted([3, 0, 2**40, 3, 1, 3])


def test_a_load_that_doubles_the_table_runs_in_the_window_and_keeps_every_constraint(
    window_opened: list[bool],
) -> None:
    before = _schema()
    assert any("FOREIGN KEY" in definition for _, definition in before[1])
    with transaction.atomic():
        assert bars_upsert(frame=_edge_frame(), exchange="NSE") == UpsertCounts(inserted=6)
        assert window_opened == [True]
        assert _schema() == before  # the same indexes and constraints, by name and definition
    # The foreign key is still enforced, and the unique key too.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    values = {"open": 1, "high": 1, "low": 1, "close": 1, "volume": 1}
    with pytest.raises(IntegrityError), transaction.atomic():
        DailyBar.objects.create(instrument_id=10**9, date="2024-01-01", **values)
    bar = DailyBar.objects.select_related("instrument").first()
    assert bar is not None
    with pytest.raises(IntegrityError), transaction.atomic():
        DailyBar.objects.create(instrument=bar.instrument, date=bar.date, **values)


def test_a_load_smaller_than_the_table_leaves_the_indexes_alone(window_opened: list[bool]) -> None:
    with transaction.atomic():
        bars_upsert(frame=_edge_frame(), exchange="NSE")
    later = _edge_frame().assign(date=pd.to_datetime(["2026-01-05"] * 6), symbol=list("DEFGHI"))
    with transaction.atomic():
        bars_upsert(frame=later, exchange="NSE")  # 6 new rows against 6 stored: not smaller
        bars_upsert(frame=later.iloc[:2].assign(date=pd.Timestamp("2026-01-06")), exchange="NSE")
    assert window_opened == [True, True, False]


def test_a_failure_mid_copy_leaves_nothing_written_and_the_constraints_in_place(
    monkeypatch: pytest.MonkeyPatch, window_opened: list[bool]
) -> None:
    monkeypatch.setattr(bars_copy, "COPY_CHUNK_ROWS", 2)
    encode = pgbinary.encode_rows
    calls = iter(range(100))

    def second_chunk_corrupt(columns: Any) -> bytes:
        data = encode(columns)
        return data if next(calls) == 0 else b"\x00\x05garbage"

    monkeypatch.setattr(pgbinary, "encode_rows", second_chunk_corrupt)
    before = _schema()
    with pytest.raises(DataError), transaction.atomic():
        bars_upsert(frame=_edge_frame(), exchange="NSE")
    assert window_opened == [True]
    assert DailyBar.objects.count() == 0
    assert Instrument.objects.count() == 0
    assert _schema() == before


@pytest.fixture
def other_session_reading_bars() -> Iterator[None]:
    """A second connection in the middle of a transaction that has read DailyBar."""
    params = connection.get_connection_params()
    other = psycopg2.connect(**{k: v for k, v in params.items() if k != "cursor_factory"})
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM marketdata_dailybar")
        yield
    finally:
        other.rollback()
        other.close()


def test_the_window_stays_shut_when_readers_hold_the_table(
    monkeypatch: pytest.MonkeyPatch, window_opened: list[bool], other_session_reading_bars: None
) -> None:
    monkeypatch.setattr(bars_copy, "LOCK_WAIT", "50ms")
    before = _schema()
    with transaction.atomic():
        assert bars_upsert(frame=_edge_frame(), exchange="NSE") == UpsertCounts(inserted=6)
    assert window_opened == [False]
    assert _schema() == before
    assert DailyBar.objects.count() == 6


def test_progress_counts_every_row_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bars_copy, "COPY_CHUNK_ROWS", 4)
    monkeypatch.setattr(services, "INGEST_CHUNK_ROWS", 4)
    steps: list[int] = []
    with transaction.atomic():
        bars_upsert(frame=_edge_frame(), exchange="NSE", progress=steps.append)
        bars_upsert(frame=_edge_frame(), exchange="NSE", progress=steps.append)  # the staged path
    assert steps == [4, 2, 4, 2]


def test_rows_in_date_order_are_copied_in_key_order() -> None:
    bars = services._bar_rows(_edge_frame().sort_values("date", ascending=False))
    bars["instrument_id"] = bars["symbol"].map({"AAA": 3, "BBB": 2, "CCC": 1}).to_numpy()
    ordered = services._in_key_order(bars)
    assert list(zip(ordered["instrument_id"], ordered["date"].dt.year, strict=True)) == [
        (1, 2024),
        (1, 2025),
        (2, 2000),
        (2, 2001),
        (3, 1999),
        (3, 2000),
    ]
    assert services._in_key_order(ordered) is ordered  # already in order: no copy


def test_a_conflict_found_when_the_window_builds_the_unique_index_falls_back_to_the_upsert(
    window_opened: list[bool],
) -> None:
    with transaction.atomic():
        bars_upsert(frame=_edge_frame().iloc[:2], exchange="NSE")
    bars = services._bar_rows(_edge_frame().iloc[:3].assign(symbol="AAA"))
    bars["instrument_id"] = Instrument.objects.get().pk
    before = _schema()
    # As if a concurrent load wrote two of these bars after this one looked: the COPY cannot see
    # it (the window has no unique index), building the index again does.
    with transaction.atomic():
        counts = services._bars_upsert_postgres(bars, fresh=np.ones(len(bars), dtype=bool))
    assert window_opened == [True, True]
    assert counts == UpsertCounts(inserted=1, unchanged=2)
    assert DailyBar.objects.count() == 3
    assert _schema() == before
