"""The pure half of the bars read: binary COPY parsing and the panel scatter."""

from __future__ import annotations

import numpy as np
import pytest

from marketdata.columns import (
    PRICE_FIELDS,
    PRICES_ROW_DTYPE,
    ROW_DTYPE,
    BarColumns,
    CopyLayoutError,
    concat_columns,
    panel_from_columns,
    parse_copy_binary,
    prices_only,
)
from marketdata.panel import PANEL_FIELDS


def _copy_bytes(rows: list[tuple[int, int, bytes, float]]) -> bytes:
    body = np.zeros(len(rows), dtype=ROW_DTYPE)
    body["n"] = 3 + len(PANEL_FIELDS)
    body["l_id"], body["l_date"], body["l_series"] = 8, 4, 4
    for name in PANEL_FIELDS:
        body[f"l_{name}"] = 8
    for k, (pk, day, series, close) in enumerate(rows):
        body["id"][k], body["date"][k], body["series"][k] = pk, day, series
        for name in PANEL_FIELDS:
            body[name][k] = close
    body["trades"][0] = np.nan
    return b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8 + body.tobytes() + b"\xff\xff"


def test_binary_copy_rows_become_columns_with_sorted_series_names() -> None:
    # PostgreSQL's date epoch is 2000-01-01: day 0 and day 1.
    columns = parse_copy_binary(_copy_bytes([(7, 0, b"SM  ", 1.5), (3, 1, b"EQ  ", 2.5)]))
    assert columns.instrument_id.tolist() == [7, 3]
    assert columns.date.astype(str).tolist() == ["2000-01-01", "2000-01-02"]
    assert list(columns.series_names) == ["EQ", "SM"]
    assert columns.series_code.tolist() == [1, 0]
    assert columns.values["close"].tolist() == [1.5, 2.5]
    assert np.isnan(columns.values["trades"][0])


def test_a_stream_that_is_not_fixed_width_is_refused() -> None:
    with pytest.raises(CopyLayoutError):
        parse_copy_binary(_copy_bytes([(7, 0, b"EQ  ", 1.5)])[:-3] + b"\xff\xff")
    with pytest.raises(CopyLayoutError):
        parse_copy_binary(b"id,date\n")


def test_panel_from_columns_scatters_rows_onto_dates_and_ascending_ids() -> None:
    values = {name: np.array([1.0, 2.0, 3.0]) for name in PANEL_FIELDS}
    columns = BarColumns.from_rows([20, 10, 20], ["2024-01-03", "2024-01-02", "2024-01-02"], ["BE", "EQ", "EQ"], values)
    panel = panel_from_columns(columns, symbol_of={10: "TEN", 20: "TWENTY"})
    assert panel.instrument_ids.tolist() == [10, 20]
    assert list(panel.symbols) == ["TEN", "TWENTY"]
    assert list(panel.series) == ["EQ", "BE"]  # the latest bar's series
    assert panel.close.tolist()[0] == [2.0, 3.0]
    assert panel.close[1, 1] == 1.0
    assert np.isnan(panel.close[1, 0])


def test_duplicate_rows_and_unknown_instruments_are_errors() -> None:
    values = {name: np.array([1.0, 2.0]) for name in PANEL_FIELDS}
    with pytest.raises(ValueError, match="duplicate"):
        panel_from_columns(BarColumns.from_rows([1, 1], ["2024-01-02"] * 2, ["EQ"] * 2, values), symbol_of={1: "A"})
    with pytest.raises(LookupError, match="unknown instruments"):
        panel_from_columns(BarColumns.from_rows([1, 2], ["2024-01-02"] * 2, ["EQ"] * 2, values), symbol_of={1: "A"})


def test_a_prices_only_stream_becomes_columns_without_series_or_trades() -> None:
    body = np.zeros(2, dtype=PRICES_ROW_DTYPE)
    body["n"], body["l_id"], body["l_date"] = 8, 8, 4
    for k, name in enumerate(PRICE_FIELDS):
        body[f"l_{name}"] = 8
        body[name] = [10.0 + k, 20.0 + k]
    body["id"], body["date"] = [7, 3], [8000, 8001]
    data = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8 + body.tobytes() + b"\xff\xff"
    columns = parse_copy_binary(data, prices=True)
    assert columns.instrument_id.tolist() == [7, 3]
    assert columns.values["close"].tolist() == [13.0, 23.0]
    assert columns.values["volume"].tolist() == [15.0, 25.0]
    assert np.isnan(columns.values["trades"]).all()
    assert columns.series_names[columns.series_code].tolist() == ["", ""]
    with pytest.raises(CopyLayoutError):
        parse_copy_binary(data)  # the full layout refuses a prices-only stream
    full = parse_copy_binary(_copy_bytes([(1, 8000, b"EQ  ", 10.0)]))
    assert prices_only(full).values["close"].tolist() == [10.0]
    assert np.isnan(prices_only(full).values["trades"]).all()


def test_parts_of_one_read_concatenate_with_series_codes_on_the_union_of_names() -> None:
    first = parse_copy_binary(_copy_bytes([(1, 8000, b"EQ  ", 10.0), (2, 8000, b"BE  ", 20.0)]))
    second = parse_copy_binary(_copy_bytes([(1, 8001, b"SM  ", 11.0), (3, 8001, b"EQ  ", 30.0)]))
    both = concat_columns([first, second])
    assert both.series_names.tolist() == ["BE", "EQ", "SM"]
    assert both.series_names[both.series_code].tolist() == ["EQ", "BE", "SM", "EQ"]
    assert both.instrument_id.tolist() == [1, 2, 1, 3]
    assert both.values["close"].tolist() == [10.0, 20.0, 11.0, 30.0]
    assert both.date.astype(str).tolist() == ["2021-11-26", "2021-11-26", "2021-11-27", "2021-11-27"]
    assert concat_columns([first]) is first
