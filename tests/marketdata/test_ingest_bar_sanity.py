"""Impossible bars, future dates and symbols no exchange uses are refused row by row, writing nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from django.conf import LazySettings
from django.utils import timezone

from marketdata.ingest.result import FAILED, SUCCEEDED
from marketdata.models import DailyBar, IngestRun, Instrument
from marketdata.services import bars_ingest

pytestmark = pytest.mark.django_db

HEADER = "SYMBOL,SERIES,OPEN,HIGH,LOW,CLOSE,LAST,PREVCLOSE,TOTTRDQTY,TOTTRDVAL,TIMESTAMP,TOTALTRADES,ISIN,"


def _row(
    symbol: str = "GOOD",
    *,
    open: str = "100",
    high: str = "110",
    low: str = "95",
    close: str = "105",
    last: str = "105",
    prev_close: str = "100",
    volume: str = "1000",
    date: str = "02-APR-2024",
) -> str:
    return f"{symbol},EQ,{open},{high},{low},{close},{last},{prev_close},{volume},105000,{date},12,INE000000001,"


def _write(path: Path, *rows: str) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


@pytest.fixture(autouse=True)
def _data_dir(settings: LazySettings, tmp_path: Path) -> None:
    settings.VCP_DATA_DIR = tmp_path / "data"


def _refused(path: Path) -> str:
    [result] = bars_ingest(path=path, progress=False)
    assert result.status == FAILED
    assert (DailyBar.objects.count(), Instrument.objects.count()) == (0, 0)
    assert IngestRun.objects.get(pk=result.run_id).status == "failed"
    return result.error


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (_row("BAD", close="500", high="110"), "close 500.0 is outside the day's range low 95.0 .. high 110.0"),
        (_row("BAD", close="90"), "close 90.0 is outside the day's range low 95.0 .. high 110.0"),
        (_row("BAD", open="111"), "open 111.0 is outside the day's range low 95.0 .. high 110.0"),
        (_row("BAD", open="94"), "open 94.0 is outside the day's range low 95.0 .. high 110.0"),
        (_row("BAD", high="90", low="95", open="92", close="92"), "high 90.0 is below low 95.0"),
        (_row("BAD", open="0", low="0"), "open price is not positive: 0.0"),
        (_row("BAD", low="-1"), "low price is not positive: -1.0"),
        (_row("BAD", prev_close="0"), "prev_close is not positive: 0.0"),
        (_row("BAD", last="-3"), "last is negative: -3.0"),
        (_row("BAD", volume="0"), "volume is zero"),
        (_row("BAD", volume="-5"), "volume is negative: -5.0"),
        (_row("=1+2"), "symbol '=1+2' has characters exchanges do not use"),
        (_row("@SUM(A1:A9)"), "symbol '@SUM(A1:A9)' has characters exchanges do not use"),
        (_row("-2+3"), "symbol '-2+3' has characters exchanges do not use"),
        (_row("+91"), "symbol '+91' has characters exchanges do not use"),
        (_row("A B"), "symbol 'A B' has characters exchanges do not use"),
        (_row("<script>"), "symbol '<script>' has characters exchanges do not use"),
    ],
    ids=[
        "close_above_high",
        "close_below_low",
        "open_above_high",
        "open_below_low",
        "high_below_low",
        "zero_price",
        "negative_price",
        "zero_prev_close",
        "negative_last",
        "zero_volume",
        "negative_volume",
        "formula_equals",
        "formula_at",
        "formula_minus",
        "formula_plus",
        "space",
        "markup",
    ],
)
def test_an_impossible_bar_refuses_the_file_and_writes_nothing(tmp_path: Path, bad: str, reason: str) -> None:
    error = _refused(_write(tmp_path / "cm02APR2024bhav.csv", _row("GOOD"), bad))
    assert "1 of 2 equity rows are bad, so nothing was loaded" in error
    assert f"line 3: {reason}" in error


def test_a_file_dated_after_today_in_india_is_refused(tmp_path: Path) -> None:
    future = timezone.localdate() + dt.timedelta(days=9)
    stamp = future.strftime("%d-%b-%Y").upper()
    error = _refused(_write(tmp_path / "future.csv", _row("AAA", date=stamp), _row("BBB", date=stamp)))
    assert f"line 2: date {future} is after today ({timezone.localdate()} in India)" in error


def test_symbols_exchanges_use_and_a_last_price_of_zero_load(tmp_path: Path) -> None:
    # NSE writes LAST as 0 when it has none (523 SME rows of 2018 in the real data); M&M, BAJAJ-AUTO.
    path = _write(tmp_path / "a.csv", _row("M&M", last="0"), _row("BAJAJ-AUTO"), _row("NIFTY_ETF.1"), _row("500002"))
    [result] = bars_ingest(path=path, progress=False)
    assert result.status == SUCCEEDED, result.error
    assert result.inserted == 4


def test_skip_bad_loads_the_good_rows_and_sends_the_formula_to_the_rejects(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "a.csv", _row("GOOD"), _row("=1+2"), _row("@SUM(A1)"), _row("WILD", close="500"), _row("FINE")
    )
    [result] = bars_ingest(path=path, progress=False, skip_bad=True)
    assert (result.status, result.inserted, result.rejected) == (SUCCEEDED, 2, 3)
    assert sorted(Instrument.objects.values_list("symbol", flat=True)) == ["FINE", "GOOD"]
    assert result.rejects_path is not None
    rejects = pd.read_csv(result.rejects_path, dtype=str)
    assert list(rejects["SYMBOL"]) == ["=1+2", "@SUM(A1)", "WILD"]
