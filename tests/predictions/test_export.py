from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from predictions.export import HEADER, predictions_csv_write


def test_the_export_writes_one_ranked_row_per_prediction_atomically(tmp_path: Path) -> None:
    rows = [
        (1, "AAA", "NSE", "BE", 0.81234567, True, 0.3, None, False, 0.81234567),  # locked today: no fresh score
        (2, "BBB", "BSE", "EQ", 0.1, False, 0.3, 0.1, False, 0.0),
    ]
    path, count = predictions_csv_write(
        directory=tmp_path / "exports", date=dt.date(2024, 8, 1), rows=rows, model_name="upper-circuit", model_version=3
    )
    assert path == tmp_path / "exports" / "predictions_2024-08-01.csv"
    assert count == 2
    with open(path, newline="") as fh:
        table = list(csv.reader(fh))
    assert tuple(table[0]) == HEADER
    assert table[1] == [
        "1", "AAA", "NSE", "BE", "2024-08-01", "0.812346", "1", "0.3", "", "0", "0.812346", "upper-circuit", "3"
    ]  # fmt: skip
    assert table[2][8:11] == ["0.100000", "0", "0.000000"]
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no staging file left behind


def test_rewriting_an_export_replaces_it(tmp_path: Path) -> None:
    day = dt.date(2024, 8, 1)
    predictions_csv_write(
        directory=tmp_path,
        date=day,
        rows=[(1, "A", "NSE", "EQ", 0.5, True, 0.3, 0.5, True, 0.5)],
        model_name="m",
        model_version=1,
    )
    path, count = predictions_csv_write(directory=tmp_path, date=day, rows=[], model_name="m", model_version=2)
    assert count == 0
    assert path.read_text().strip() == ",".join(HEADER)
