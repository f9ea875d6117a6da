from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from marketdata.ingest import IngestError, prepare_file

HEADER = (
    'SYMBOL," SERIES"," DATE1"," PREV_CLOSE"," OPEN_PRICE"," HIGH_PRICE"," LOW_PRICE"," LAST_PRICE",'
    '" CLOSE_PRICE"," AVG_PRICE"," TTL_TRD_QNTY"," TURNOVER_LACS"," NO_OF_TRADES"," DELIV_QTY"," DELIV_PER"'
)


def _row(symbol: str, series: str = "EQ", close: str = "265.05", lacs: str = "794.58", last: str = "264.55") -> str:
    values = [series, "01-Aug-2024", "272.02", "273.50", "274.50", "264.00", last, close, "268.11", "296358"]
    values += [lacs, "5689", "-", "-"]
    return symbol + "," + ",".join(f'" {value}"' for value in values)


def _csv(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def test_padded_quoted_values_are_stripped_and_parsed() -> None:
    prepared = prepare_file(_csv(_row("20MICRONS"), _row("1018GS2026", series="GS")), filename="a.csv")
    assert prepared.layout == "nse_full"
    bar = prepared.bars.iloc[0]
    assert (bar["symbol"], bar["series"]) == ("20MICRONS", "EQ")
    assert bar["date"] == pd.Timestamp("2024-08-01")
    assert (bar["open"], bar["high"], bar["low"], bar["close"], bar["last"]) == (273.5, 274.5, 264.0, 265.05, 264.55)
    assert (bar["volume"], bar["trades"]) == (296358, 5689)
    assert prepared.rows_skipped == 1


def test_turnover_in_lakhs_becomes_rupees_without_float_noise() -> None:
    prepared = prepare_file(_csv(_row("A", lacs="794.58"), _row("B", lacs="4255.61")), filename="a.csv")
    # 794.58 * 1e5 is 79458000.00000001 in floating point; the parser rounds to the paisa.
    assert prepared.bars["turnover"].tolist() == [79_458_000.0, 425_561_000.0]


def test_dash_marks_a_missing_optional_value() -> None:
    prepared = prepare_file(_csv(_row("A", last="-")), filename="a.csv")
    assert np.isnan(prepared.bars.iloc[0]["last"])


def test_dash_in_a_required_price_rejects_the_row() -> None:
    with pytest.raises(IngestError, match=r"line 2: CLOSE_PRICE is missing"):
        prepare_file(_csv(_row("A", close="-"), _row("B")), filename="a.csv")


@pytest.mark.realdata
def test_real_full_file_parses_without_rejects(raw_dir: Path) -> None:
    prepared = prepare_file((raw_dir / "nse_01AUG2024.csv").read_bytes(), filename="nse_01AUG2024.csv")
    assert prepared.layout == "nse_full"
    assert prepared.rejects.empty
    assert len(prepared.bars) > 2000
