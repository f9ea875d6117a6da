"""The CSV export leaves nothing behind when the disk fills or the directory is unwritable."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from predictions import export


def test_a_failed_write_removes_its_staging_file(tmp_path: Path) -> None:
    def rows() -> Any:
        yield (1, "AAA", "NSE", "EQ", 0.9, True, 0.5, 0.9, True, 0.9)
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        export.predictions_csv_write(
            directory=tmp_path, date=dt.date(2024, 8, 2), rows=rows(), model_name="m", model_version=1
        )
    assert list(tmp_path.iterdir()) == []
