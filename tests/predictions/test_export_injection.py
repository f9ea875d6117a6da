"""The daily CSV never hands a spreadsheet a formula (OWASP CSV injection), even from a symbol stored long ago."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from marketdata.models import Instrument
from modelregistry.models import ModelVersion
from predictions.export import HEADER, neutralised, predictions_csv_write
from predictions.services import batch_run_inline
from tests.predictions.conftest import Market

FORMULAS = ["=1+2", "+91-22", "-2+3", "@SUM(A1:A9)", "\tcmd", "\r=1"]


def _cells(path: Path) -> list[list[str]]:
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


@pytest.mark.parametrize("value", FORMULAS)
def test_a_text_cell_starting_a_formula_is_written_as_text(value: str) -> None:
    assert neutralised(value) == "'" + value


def test_plain_symbols_and_numbers_are_left_alone() -> None:
    assert [neutralised(v) for v in ("M&M", "BAJAJ-AUTO", "500002", 0.5, -1, None)] == [
        "M&M",
        "BAJAJ-AUTO",
        "500002",
        0.5,
        -1,
        None,
    ]


def test_the_export_neutralises_every_text_column(tmp_path: Path) -> None:
    rows = [(n + 1, value, "NSE", "EQ", 0.5, True, 0.3, 0.5, True, 0.5) for n, value in enumerate(FORMULAS)]
    path, _ = predictions_csv_write(
        directory=tmp_path, date=dt.date(2024, 8, 1), rows=rows, model_name="=HYPERLINK(x)", model_version=1
    )
    table = _cells(path)[1:]
    assert [row[1] for row in table] == ["'" + value for value in FORMULAS]
    assert {row[HEADER.index("model")] for row in table} == {"'=HYPERLINK(x)"}


@pytest.mark.django_db
def test_a_formula_symbol_already_in_the_database_reaches_the_csv_only_as_text(
    market: Market, production: ModelVersion
) -> None:
    # Ingestion refuses such a symbol now (tests/marketdata/test_ingest_bar_sanity.py); older rows may hold one.
    Instrument.objects.filter(symbol=market.symbols[0]).update(symbol="=1+2")
    run = batch_run_inline(date=market.last)
    table = _cells(Path(run.export_path))
    symbols = [row[1] for row in table[1:]]
    assert "'=1+2" in symbols
    assert not [cell for row in table for cell in row if cell.startswith(("=", "+", "@", "\t", "\r"))]
