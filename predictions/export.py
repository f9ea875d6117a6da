"""The daily CSV export of ranked predictions. Pure module (no Django).

One row per scored instrument, by rank: ``rank, symbol, exchange, series, date, probability,
will_hit_upper_circuit, threshold, model, model_version``. Probabilities are calibrated, in [0, 1].
The file is written beside its final name and renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

HEADER = (
    "rank",
    "symbol",
    "exchange",
    "series",
    "date",
    "probability",
    "will_hit_upper_circuit",
    "threshold",
    "model",
    "model_version",
)


def export_path(directory: Path, date: dt.date) -> Path:
    return Path(directory) / f"predictions_{date.isoformat()}.csv"


def predictions_csv_write(
    *,
    directory: Path,
    date: dt.date,
    rows: Iterable[tuple[Any, ...]],
    model_name: str,
    model_version: int,
) -> tuple[Path, int]:
    """Write ``rows`` of ``(rank, symbol, exchange, series, probability, will_hit, threshold)``.

    Returns the path and the number of data rows written.
    """
    path = export_path(directory, date)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    count = 0
    day = date.isoformat()
    with open(staging, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for rank, symbol, exchange, series, probability, will_hit, threshold in rows:
            writer.writerow(
                (
                    rank,
                    symbol,
                    exchange,
                    series,
                    day,
                    f"{probability:.6f}",
                    int(will_hit),
                    threshold,
                    model_name,
                    model_version,
                )
            )
            count += 1
    os.replace(staging, path)
    return path, count
