"""Plain JSON values from numpy, pandas and dataclass results (stored in JSONFields, exported by reports).

Pure (no Django). NaN and infinities become None: JSON has no NaN and PostgreSQL's jsonb refuses it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def jsonable(value: Any, *, digits: int | None = None) -> Any:
    """``value`` as dicts, lists, str, int, float (rounded to ``digits`` when given), bool and None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v, digits=digits) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name), digits=digits) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [jsonable(v, digits=digits) for v in value]
    if isinstance(value, np.ndarray | pd.Series | pd.Index):
        return [jsonable(v, digits=digits) for v in value.tolist()]
    if isinstance(value, np.generic):
        return jsonable(value.item(), digits=digits)
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return round(value, digits) if digits is not None else value
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, np.datetime64 | Path):
        return str(value)
    raise TypeError(f"cannot turn {type(value).__name__} into JSON")
