"""scripts/drift_realdata.py on a slice of the real NSE data: the study docs/monitoring.md reports."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from features.spec import FEATURE_NAMES
from monitoring.drift import DriftStatus

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "drift_realdata.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("drift_realdata", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the script runs
    spec.loader.exec_module(module)
    return module


@pytest.mark.realdata
def test_monthly_and_daily_drift_on_real_bars(real_parquet: Path) -> None:
    study = _script()
    symbols = pd.read_parquet(real_parquet, columns=["symbol"])["symbol"].astype(str).drop_duplicates()
    chosen = sorted(symbols.sample(250, random_state=0))
    panel = study.load_panel(real_parquet, chosen)
    reference, months, daily = study.drift_study(
        panel,
        train_start="2019-01-01",
        train_end="2020-12-31",
        months_from="2020-11-01",
        days_from="2020-12-01",
        end="2021-02-28",
        reference_rows=100_000,
    )

    bars = pd.read_parquet(real_parquet, columns=["symbol", "date"], filters=[("symbol", "in", chosen)])
    bars["month"] = bars["date"].dt.strftime("%Y-%m")
    per_month = bars["month"].value_counts()
    in_training_bars = int(bars["date"].between("2019-01-01", "2020-12-31").sum())
    assert reference.rows == min(100_000, in_training_bars)
    assert reference.names == FEATURE_NAMES

    assert [m.month for m in months] == ["2020-11", "2020-12", "2021-01", "2021-02"]
    assert [m.in_training for m in months] == [True, True, False, False]
    for m in months:
        assert m.result.n_current == per_month[m.month]  # every stock-day with a bar, none lost
        assert all(f.psi >= 0.0 and 0.0 <= f.ks_statistic <= 1.0 for f in m.result.features)
        # A month of a few thousand rows: the noise limit sits far below the fixed thresholds.
        assert max(f.psi_critical for f in m.result.features) < 0.05

    sessions = np.unique(bars.loc[bars["date"].between("2020-12-01", "2021-02-28"), "date"].to_numpy())
    assert daily.psi.shape == (len(sessions), len(FEATURE_NAMES))
    assert np.array_equal(daily.dates, sessions.astype("datetime64[D]"))
    assert set(np.unique(daily.level)) <= {s.level for s in DriftStatus}

    text = study.render_markdown(reference, months, daily, train_end="2020-12-31")
    assert "| 2020-12 (in training) |" in text
    assert "| 2021-02 |" in text
    assert "| 2021-Q1 |" in text
    assert "| 2020-Q4 (in training) |" in text
