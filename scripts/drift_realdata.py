"""Feature drift on the real NSE data: the reference fitted on 2015-2020, each month of 2021-2022
checked against it, and the daily production check replayed on every session.

    .venv/bin/python scripts/drift_realdata.py [--parquet ../shared/data/nse_eq_daily_2015_2022.parquet]
                                               [--out var/drift_realdata.md]

Steps (pure: no Django, no database):
1. ``Panel.from_long`` over every symbol of the parquet, then ``features.vcp.compute_features`` once for
   the whole panel (every value at t uses rows <= t only, so one pass gives what each evening saw).
2. Reference: like ``modelregistry.training_run`` does at training time, a seeded sample of 500,000
   stock-days with a bar from the training years, frozen with ``reference_from_training``.
3. Each month of 2020-2022: every stock-day with a bar in the month through ``drift_report`` with the
   production defaults (alpha 0.05, min_rows 200). 2020 lies inside the training years: a control.
4. Each session of 2019-2022: the production check (one evening's snapshots). 2019-2020 daily PSIs
   give an empirical per-feature threshold (their 99th percentile), applied to 2021-2022.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from features.reference import FeatureReference, reference_from_training
from features.spec import FEATURE_NAMES
from features.vcp import compute_features
from marketdata.panel import Panel
from monitoring.drift import DriftResult, DriftStatus, drift_report

DEFAULT_PARQUET = Path(__file__).resolve().parents[2] / "shared" / "data" / "nse_eq_daily_2015_2022.parquet"
REFERENCE_ROWS = 500_000  # modelregistry.training_run.REFERENCE_ROWS
# The most useful features on this data (shared/data/README.md): circuit history, price level, the
# day's move and range. A candidate for VCP_DRIFT_WATCHED_FEATURES.
KEY_FEATURES = (
    "days_since_lock",
    "lock_count20",
    "lock_count60",
    "log_close",
    "return_1d",
    "close_location",
    "band_distance",
)
KEY_INDEX = np.array([FEATURE_NAMES.index(name) for name in KEY_FEATURES])


@dataclass(frozen=True)
class MonthDrift:
    month: str  # YYYY-MM
    in_training: bool
    result: DriftResult

    def top(self, k: int = 3) -> list[tuple[str, float, float]]:
        """The ``k`` features with the largest PSI: (name, PSI, KS statistic)."""
        ranked = sorted(self.result.features, key=lambda f: -f.psi)[:k]
        return [(f.name, f.psi, f.ks_statistic) for f in ranked]

    def count(self, status: DriftStatus) -> int:
        return sum(1 for f in self.result.features if f.status is status)


@dataclass(frozen=True)
class DailyDrift:
    """The daily check replayed: one row per session, one column per feature."""

    dates: npt.NDArray[np.datetime64]  # (D,)
    psi: npt.NDArray[np.float64]  # (D, F)
    level: npt.NDArray[np.int8]  # (D, F) feature status levels: 0 ok, 1 warn, 2 alert

    def quarter(self) -> npt.NDArray[np.str_]:
        months = self.dates.astype("datetime64[M]").astype(int)
        return np.array([f"{1970 + m // 12}-Q{m % 12 // 3 + 1}" for m in months])


def worst(result: DriftResult, names: Sequence[str]) -> DriftStatus:
    """The overall status had only ``names`` been watched (drift_report(..., watched=names))."""
    return max((f.status for f in result.features if f.name in names), key=lambda s: s.level)


def load_panel(parquet: Path, symbols: Sequence[str] | None = None) -> Panel:
    filters = [("symbol", "in", list(symbols))] if symbols is not None else None
    frame = pd.read_parquet(parquet, filters=filters)
    frame["symbol"] = frame["symbol"].astype(str)
    frame["series"] = frame["series"].astype(str)
    return Panel.from_long(frame)


def _rows(values: npt.NDArray[np.float32], has_bar: npt.NDArray[np.bool_], mask: npt.NDArray[np.bool_]) -> np.ndarray:
    """(rows, F) feature values of the stock-days with a bar on the dates where ``mask`` (T,) holds."""
    t_idx, n_idx = np.nonzero(has_bar & mask[:, None])
    return values[t_idx, n_idx].astype(np.float64)


def drift_study(
    panel: Panel,
    *,
    train_start: str = "2015-01-01",
    train_end: str = "2020-12-31",
    months_from: str = "2020-01-01",
    days_from: str = "2019-01-01",
    end: str = "2022-12-31",
    reference_rows: int = REFERENCE_ROWS,
    seed: int = 0,
) -> tuple[FeatureReference, list[MonthDrift], DailyDrift]:
    """The frozen reference of ``train_start..train_end``, one drift report per calendar month of
    ``months_from..end``, and the daily check on each session of ``days_from..end``."""
    cube = compute_features(panel)
    dates, has_bar = panel.dates, panel.has_bar
    in_train = (dates >= np.datetime64(train_start)) & (dates <= np.datetime64(train_end))
    training = _rows(cube.values, has_bar, in_train)
    if len(training) > reference_rows:
        keep = np.sort(np.random.default_rng(seed).choice(len(training), size=reference_rows, replace=False))
        training = training[keep]
    reference = reference_from_training(training, list(FEATURE_NAMES))

    months = dates.astype("datetime64[M]")
    monthly: list[MonthDrift] = []
    for month in np.unique(months[(dates >= np.datetime64(months_from)) & (dates <= np.datetime64(end))]):
        monthly.append(
            MonthDrift(
                month=str(month),
                in_training=bool(month <= np.datetime64(train_end, "M")),
                result=drift_report(reference, _rows(cube.values, has_bar, months == month)),
            )
        )

    sessions = np.flatnonzero((dates >= np.datetime64(days_from)) & (dates <= np.datetime64(end)))
    psi = np.empty((len(sessions), len(FEATURE_NAMES)))
    level = np.empty((len(sessions), len(FEATURE_NAMES)), dtype=np.int8)
    for i, t in enumerate(sessions):
        result = drift_report(reference, cube.values[t][has_bar[t]].astype(np.float64))
        psi[i] = [f.psi for f in result.features]
        level[i] = [f.status.level for f in result.features]
    return reference, monthly, DailyDrift(dates=dates[sessions], psi=psi, level=level)


def _monthly_table(reference: FeatureReference, months: Sequence[MonthDrift]) -> list[str]:
    lines = [
        f"Reference: {reference.rows:,} stock-days sampled from the training years. Statuses use the production",
        "defaults: fixed PSI reading (0.1 warn, 0.25 alert) gated by the sample-size-aware noise limit.",
        f"'Key 7' is the status had only these been watched: {', '.join(KEY_FEATURES)}.",
        "",
        "| Month | Rows | Status | Key 7 | Features warn / alert | Max PSI | Top drifting features: PSI (KS) |",
        "|---|---:|---|---|---:|---:|---|",
    ]
    for m in months:
        top = ", ".join(f"{name} {value:.3f} ({ks:.2f})" for name, value, ks in m.top())
        label = f"{m.month} (in training)" if m.in_training else m.month
        lines.append(
            f"| {label} | {m.result.n_current:,} | {m.result.status.value.upper()} | "
            f"{worst(m.result, KEY_FEATURES).value.upper()} | "
            f"{m.count(DriftStatus.WARN)} / {m.count(DriftStatus.ALERT)} | {m.top(1)[0][1]:.3f} | {top} |"
        )
    checked = [m for m in months if not m.in_training]
    if checked:
        psi = np.array([[f.psi for f in m.result.features] for m in checked])
        lines += [
            "",
            f"Median PSI per feature over the {len(checked)} out-of-sample months (largest first):",
            "",
            "| Feature | Median PSI | Max PSI | Months in alert |",
            "|---|---:|---:|---:|",
        ]
        for j in np.argsort(-np.median(psi, axis=0)):
            alerts = sum(1 for m in checked if m.result.features[j].status is DriftStatus.ALERT)
            lines.append(f"| {FEATURE_NAMES[j]} | {np.median(psi[:, j]):.3f} | {psi[:, j].max():.3f} | {alerts} |")
    return lines


def _daily_tables(daily: DailyDrift, *, train_end: str) -> list[str]:
    quarters = daily.quarter()
    in_sample = daily.dates <= np.datetime64(train_end)
    # Empirical threshold: what an in-sample day reaches 1% of the time, per feature.
    p99 = np.quantile(daily.psi[in_sample], 0.99, axis=0)
    above = daily.psi > p99
    lines = [
        "",
        "The daily check replayed on every session (one evening's snapshots, about 1,900 rows):",
        "",
        "| Quarter | Sessions | ALERT, all 25 | ALERT, key 7 | > in-sample p99, all 25 | > in-sample p99, key 7 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for quarter in dict.fromkeys(quarters):
        rows = quarters == quarter
        label = f"{quarter} (in training)" if in_sample[rows].all() else quarter
        lines.append(
            f"| {label} | {rows.sum()} | {np.mean(daily.level[rows].max(axis=1) == 2):.0%} | "
            f"{np.mean(daily.level[rows][:, KEY_INDEX].max(axis=1) == 2):.0%} | "
            f"{np.mean(above[rows].any(axis=1)):.0%} | {np.mean(above[rows][:, KEY_INDEX].any(axis=1)):.0%} |"
        )
    out = ~in_sample
    lines += [
        "",
        "Per feature: the daily PSI's in-sample 99th percentile (2019-2020 sessions) and how often the",
        "out-of-sample sessions exceed it or the fixed 0.25:",
        "",
        "| Feature | In-sample daily PSI p50 | p99 | Out-of-sample days > p99 | Out-of-sample days in ALERT |",
        "|---|---:|---:|---:|---:|",
    ]
    for j in np.argsort(-np.mean(above[out], axis=0)):
        lines.append(
            f"| {FEATURE_NAMES[j]} | {np.median(daily.psi[in_sample, j]):.3f} | {p99[j]:.3f} | "
            f"{np.mean(above[out, j]):.0%} | {np.mean(daily.level[out, j] == 2):.0%} |"
        )
    return lines


def render_markdown(
    reference: FeatureReference, months: Sequence[MonthDrift], daily: DailyDrift | None = None, *, train_end: str
) -> str:
    lines = _monthly_table(reference, months)
    if daily is not None and len(daily.dates):
        lines += _daily_tables(daily, train_end=train_end)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parquet", type=Path, default=DEFAULT_PARQUET)
    parser.add_argument("--out", type=Path, help="also write the markdown tables to this file")
    args = parser.parse_args()
    if not args.parquet.is_file():
        raise SystemExit(f"{args.parquet} not found: pass --parquet")
    started = time.perf_counter()
    panel = load_panel(args.parquet)
    loaded = time.perf_counter()
    reference, months, daily = drift_study(panel)
    text = render_markdown(reference, months, daily, train_end="2020-12-31")
    print(text)
    elapsed = time.perf_counter() - loaded
    print(
        f"panel {panel.shape[0]} dates x {panel.shape[1]} stocks loaded in {loaded - started:.1f} s; features, "
        f"reference, {len(months)} monthly and {len(daily.dates)} daily reports in {elapsed:.1f} s",
        file=sys.stderr,
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
