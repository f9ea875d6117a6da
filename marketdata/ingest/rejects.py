"""The rejects CSV written under --skip-bad: one row per bad source line, with its raw values."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def rejects_frame(raw: pd.DataFrame, reasons: pd.Series) -> pd.DataFrame:
    """``line, reason`` then the row's raw values; ``raw`` and ``reasons`` are indexed by line."""
    values = raw.loc[reasons.index]
    frame = pd.DataFrame({"line": reasons.index.to_numpy(), "reason": reasons.to_numpy()})
    return pd.concat([frame, values.reset_index(drop=True)], axis=1)


def rejects_write(rejects: pd.DataFrame, *, directory: Path, filename: str, sha256: str) -> Path:
    """Write ``rejects`` to ``directory``; the name carries the file's hash, so a rerun overwrites it."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{Path(filename).stem}.{sha256[:12]}.rejects.csv"
    rejects.to_csv(path, index=False)
    return path
