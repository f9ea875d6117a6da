"""Sessions from the data: a date XBOM does not list is a holiday repeat (refused) or a special session (kept)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from django.conf import LazySettings

from marketdata.choices import SessionKind
from marketdata.ingest import IngestError, prepare_file
from marketdata.ingest.result import FAILED, SUCCEEDED
from marketdata.ingest.sessions import judge_dates
from marketdata.models import DailyBar, IngestRun, TradingSession
from marketdata.services import bars_ingest
from marketdata.sessions import is_trading_session

SYMBOLS = [f"S{n:02d}" for n in range(20)]
COLUMNS = "symbol,date,series,open,high,low,close,last,prev_close,volume,trades"


def _day(day: dt.date, *, shift: float = 0.0, repeat_of: pd.DataFrame | None = None) -> pd.DataFrame:
    """20 stocks on ``day``; ``shift`` moves every price; ``repeat_of`` copies another day's values."""
    if repeat_of is not None:
        return repeat_of.assign(date=day.isoformat())
    base = pd.Series(range(20), dtype=float) + 100 + shift
    return pd.DataFrame(
        {
            "symbol": SYMBOLS,
            "date": day.isoformat(),
            "series": "EQ",
            "open": base,
            "high": base + 2,
            "low": base - 1,
            "close": base + 1,
            "last": base + 1,
            "prev_close": base,
            "volume": 1000 + base.astype(int),
            "trades": 10,
        }
    )


def _csv(path: Path, *days: pd.DataFrame) -> Path:
    pd.concat(days).to_csv(path, index=False, columns=COLUMNS.split(","))
    return path


# --- pure: no database -------------------------------------------------------------------------------


def _frame(*days: pd.DataFrame) -> pd.DataFrame:
    """The normalised frame of ``days``, every date kept (judge_dates is what the tests call)."""
    data = pd.concat(days)
    every_date = {dt.date.fromisoformat(day) for day in data["date"]}
    return prepare_file(data.to_csv(index=False).encode(), filename="x.csv", extra_sessions=every_date).bars


def test_a_weekend_date_repeating_the_friday_in_the_same_file_is_refused_and_the_rest_kept() -> None:
    friday = _day(dt.date(2024, 6, 14))
    data = pd.concat([friday, _day(dt.date(2024, 6, 15), repeat_of=friday), _day(dt.date(2024, 6, 17), shift=3)])
    prepared = prepare_file(data.to_csv(index=False).encode(), filename="history.csv")
    assert list(prepared.refused_dates) == [dt.date(2024, 6, 15)]
    reason = prepared.refused_dates[dt.date(2024, 6, 15)]
    assert "100% of its 20 symbols repeat the bars of 2024-06-14 exactly" in reason
    assert sorted({d.date() for d in prepared.bars["date"]}) == [dt.date(2024, 6, 14), dt.date(2024, 6, 17)]
    assert len(prepared.rejects) == 20
    assert prepared.rejects["reason"].str.startswith("2024-06-15 is not an NSE/BSE trading session").all()


def test_a_weekend_date_with_its_own_bars_is_a_special_session() -> None:
    data = pd.concat([_day(dt.date(2024, 6, 14)), _day(dt.date(2024, 6, 15), shift=2)])
    prepared = prepare_file(data.to_csv(index=False).encode(), filename="history.csv")
    assert not prepared.refused_dates
    assert "accepted as a special session" in prepared.special_sessions[dt.date(2024, 6, 15)]
    assert len(prepared.bars) == 40


def test_a_few_unchanged_illiquid_stocks_do_not_make_a_session_a_repeat() -> None:
    friday = _day(dt.date(2024, 6, 14))
    saturday = _day(dt.date(2024, 6, 15), shift=2)
    saturday.iloc[:17, 3:10] = friday.iloc[:17, 3:10].to_numpy()  # 85% repeat: below the 90% line
    check = judge_dates(_frame(friday, saturday), exchange="NSE")
    assert list(check.special) == [dt.date(2024, 6, 15)]
    saturday.iloc[:18, 3:10] = friday.iloc[:18, 3:10].to_numpy()  # 90%
    check = judge_dates(_frame(friday, saturday), exchange="NSE")
    assert list(check.refused) == [dt.date(2024, 6, 15)]


def test_a_date_the_caller_knows_as_a_session_is_not_judged() -> None:
    friday = _day(dt.date(2024, 6, 14))
    frame = _frame(friday, _day(dt.date(2024, 6, 15), repeat_of=friday))
    assert judge_dates(frame, exchange="NSE", extra_sessions={dt.date(2024, 6, 15)}).refused == {}


def test_a_file_whose_only_date_is_refused_is_refused_whole() -> None:
    with pytest.raises(IngestError, match="the bars of the session before it \\(2024-06-14\\) are neither"):
        prepare_file(_day(dt.date(2024, 6, 15)).to_csv(index=False).encode(), filename="x.csv")


# --- with the database ---------------------------------------------------------------------------


@pytest.fixture
def data_dir(settings: LazySettings, tmp_path: Path) -> Path:
    settings.VCP_DATA_DIR = tmp_path / "data"
    return tmp_path


@pytest.mark.django_db
def test_a_holiday_named_copy_of_the_previous_session_is_refused_with_that_reason(data_dir: Path) -> None:
    friday = _day(dt.date(2024, 3, 22))
    [loaded] = bars_ingest(path=_csv(data_dir / "22MAR2024.csv", friday), progress=False)
    assert loaded.status == SUCCEEDED
    holi = _day(dt.date(2024, 3, 25), repeat_of=friday)  # Monday, Holi
    [result] = bars_ingest(path=_csv(data_dir / "25MAR2024.csv", holi), progress=False)
    assert result.status == FAILED
    assert result.error == (
        "2024-03-25 is not an NSE/BSE trading session (XBOM calendar) and 100% of its 20 symbols repeat the bars "
        "of 2024-03-22 exactly: a file named for a holiday that repeats the previous session, so its rows are refused"
    )
    assert not DailyBar.objects.filter(date=dt.date(2024, 3, 25)).exists()
    assert not TradingSession.objects.filter(date=dt.date(2024, 3, 25)).exists()


@pytest.mark.django_db
def test_an_unlisted_day_with_new_bars_is_accepted_recorded_and_then_a_session_for_the_calendar(
    data_dir: Path,
) -> None:
    saturday = dt.date(2024, 6, 15)
    assert not is_trading_session(saturday)
    bars_ingest(path=_csv(data_dir / "14JUN2024.csv", _day(dt.date(2024, 6, 14))), progress=False)
    [result] = bars_ingest(path=_csv(data_dir / "15JUN2024.csv", _day(saturday, shift=4)), progress=False)
    assert (result.status, result.inserted) == (SUCCEEDED, 20)
    assert "special-session=2024-06-15" in result.summary()
    session = TradingSession.objects.get(date=saturday)
    assert session.kind == SessionKind.DETECTED
    assert "accepted as a special session" in session.note
    assert session.source.endswith("15JUN2024.csv")
    assert "special session 2024-06-15" in IngestRun.objects.get(pk=result.run_id).note
    assert is_trading_session(saturday)


@pytest.mark.django_db
def test_a_multi_date_file_loads_every_date_but_the_refused_one_which_is_reported_like_rejected_rows(
    data_dir: Path,
) -> None:
    friday = _day(dt.date(2024, 3, 22), shift=1)
    path = _csv(
        data_dir / "history.csv",
        _day(dt.date(2024, 3, 21)),
        friday,
        _day(dt.date(2024, 3, 25), repeat_of=friday),
        _day(dt.date(2024, 3, 26), shift=2),
    )
    [result] = bars_ingest(path=path, progress=False)
    assert result.status == SUCCEEDED, result.error
    assert (result.inserted, result.rejected) == (60, 20)
    assert [day for day, _ in result.refused_dates] == [dt.date(2024, 3, 25)]
    assert "refused 2024-03-25: 2024-03-25 is not an NSE/BSE trading session" in result.summary()
    assert sorted(set(DailyBar.objects.values_list("date", flat=True))) == [
        dt.date(2024, 3, 21),
        dt.date(2024, 3, 22),
        dt.date(2024, 3, 26),
    ]
    run = IngestRun.objects.get(pk=result.run_id)
    assert (run.status, run.rows_rejected) == ("succeeded", 20)
    assert "refused 2024-03-25" in run.note
    assert result.rejects_path is not None
    rejects = pd.read_csv(result.rejects_path, dtype=str)
    assert len(rejects) == 20
    assert rejects["reason"].str.contains("repeat the bars of 2024-03-22 exactly").all()


@pytest.mark.django_db
def test_the_known_special_sessions_ship_as_data_and_load_without_judging(data_dir: Path) -> None:
    shipped = dict(TradingSession.objects.values_list("date", "kind"))
    assert {
        dt.date(2015, 2, 28): "budget",
        dt.date(2020, 2, 1): "budget",
        dt.date(2025, 2, 1): "budget",
        dt.date(2024, 1, 20): "dr_site",
        dt.date(2024, 3, 2): "dr_site",
        dt.date(2024, 5, 18): "dr_site",
        dt.date(2024, 11, 1): "muhurat",
    }.items() <= shipped.items()
    assert sum(kind == "muhurat" for kind in shipped.values()) == 11
    # Nothing stored before it, yet the DR-site Saturday loads: the calendar knows it from the table.
    [result] = bars_ingest(path=_csv(data_dir / "18MAY2024.csv", _day(dt.date(2024, 5, 18))), progress=False)
    assert (result.status, result.inserted) == (SUCCEEDED, 20)
    assert not result.special_sessions
    assert is_trading_session(dt.date(2024, 5, 18))
