from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from marketdata.ingest import IngestError, prepare_file

COLUMNS = ["symbol", "date", "series", "open", "high", "low", "close", "last", "prev_close", "volume", "trades"]


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ["AAA", "2024-04-01", "EQ", 10.0, 11.0, 9.5, 10.5, 10.5, 10.0, 1000, 12],
            ["AAA", "2024-04-02", "EQ", 10.5, 11.5, 10.0, 11.0, 11.0, 10.5, 1200, 15],
            ["GSEC", "2024-04-01", "GS", 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 1, 1],
        ],
        columns=COLUMNS,
    )


def _parquet(frame: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    frame.to_parquet(sink, index=False)
    return sink.getvalue()


def test_parquet_with_many_dates_is_recognised_by_its_bytes_not_its_name() -> None:
    frame = _frame().assign(date=lambda f: pd.to_datetime(f["date"]))
    prepared = prepare_file(_parquet(frame), filename="bars.csv")
    assert (prepared.layout, prepared.exchange) == ("normalised", "NSE")
    assert (prepared.rows_read, prepared.rows_skipped, len(prepared.bars)) == (3, 1, 2)
    assert prepared.bars["line"].tolist() == [1, 2]  # Parquet rows are numbered from 1
    assert prepared.bars["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-04-01", "2024-04-02"]


def test_normalised_csv_parses_like_the_parquet() -> None:
    from_csv = prepare_file(_frame().to_csv(index=False).encode(), filename="bars.csv").bars
    frame = _frame().assign(date=lambda f: pd.to_datetime(f["date"]))
    from_parquet = prepare_file(_parquet(frame), filename="bars.parquet").bars
    for name in ("open", "close", "volume", "trades"):
        np.testing.assert_array_equal(from_csv[name].to_numpy(), from_parquet[name].to_numpy())


def test_exchange_option_labels_a_normalised_file_and_keeps_all_its_groups() -> None:
    prepared = prepare_file(_frame().to_csv(index=False).encode(), filename="bars.csv", exchange="BSE")
    assert prepared.exchange == "BSE"
    assert len(prepared.bars) == 3


def test_date_option_that_disagrees_with_the_file_is_refused() -> None:
    with pytest.raises(IngestError, match=r"--date 2024-04-01 was given but the file's rows are dated 2024-04-02"):
        prepare_file(_frame().to_csv(index=False).encode(), filename="bars.csv", trade_date=dt.date(2024, 4, 1))


@pytest.mark.realdata
def test_real_parquet_slice_parses_every_row(real_parquet: Path) -> None:
    head = pq.ParquetFile(real_parquet).read_row_group(0).slice(0, 5000).to_pandas()
    prepared = prepare_file(_parquet(head), filename="slice.parquet")
    assert len(prepared.bars) == len(head)
    assert prepared.rejects.empty
