"""The daily CSV export of ranked predictions. Pure module (no Django).

One row per scored instrument, by rank: ``rank, symbol, exchange, series, date, probability,
will_hit_upper_circuit, threshold, new_circuit_probability, will_hit_new_circuit,
strict_probability, model, model_version``. Probabilities are calibrated, in [0, 1];
``new_circuit_probability`` is empty for a stock already locked today (a streak, not a fresh
candidate).
The file is written beside its final name and renamed into place, so a reader never sees half a file.

Desks open the file in a spreadsheet, which runs a cell starting with ``=``, ``+``, ``-`` or ``@``
(or a tab or carriage return) as a formula. Ingestion refuses such symbols, but the export does not
rely on it: as OWASP advises for CSV injection, every text cell that starts with one of them is
written with a leading ``'``, which spreadsheets show as text.
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
    "new_circuit_probability",
    "will_hit_new_circuit",
    "strict_probability",
    "model",
    "model_version",
)


# OWASP "CSV Injection": the characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value: Any) -> Any:
    """``value`` as a spreadsheet shows it, never runs it: text starting a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


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
    """Write ``rows`` of ``(rank, symbol, exchange, series, probability, will_hit, threshold,
    new_circuit_probability, will_hit_new, strict_probability)``.

    Returns the path and the number of data rows written.
    """
    path = export_path(directory, date)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    count = 0
    day = date.isoformat()
    try:
        with open(staging, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(HEADER)
            for rank, symbol, exchange, series, probability, will_hit, threshold, fresh, hit_new, strict in rows:
                writer.writerow(
                    (
                        rank,
                        neutralised(symbol),
                        neutralised(exchange),
                        neutralised(series),
                        day,
                        f"{probability:.6f}",
                        int(will_hit),
                        threshold,
                        "" if fresh is None else f"{fresh:.6f}",
                        int(hit_new),
                        "" if strict is None else f"{strict:.6f}",
                        neutralised(model_name),
                        model_version,
                    )
                )
                count += 1
        os.replace(staging, path)
    except BaseException:
        # A full disk (ENOSPC) or an unwritable directory must not leave a half file behind.
        staging.unlink(missing_ok=True)
        raise
    return path, count
