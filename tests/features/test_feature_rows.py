"""Features finished for the last rows only (the scoring path) equal the full computation bit for bit.

``_compute(panel, start, rows=R)`` runs every window over the same rows as ``_compute(panel, start)``
but finishes only the last R rows of each feature. Training reads the full output and scoring
(``features_on``, ``features_on_dates``) the last rows, so the two must not differ in a single bit:
``array_equal``, not ``allclose``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features import spec
from features.vcp import _compute, compute_features, features_on, features_on_dates
from marketdata.panel import Panel
from tests.features.test_no_lookahead import T, _synthetic_market


@pytest.fixture(scope="module")
def market() -> Panel:
    return _synthetic_market()


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))


@pytest.mark.parametrize("start", [0, 7, 60])
def test_the_last_rows_equal_the_full_computation_bit_for_bit(market: Panel, start: int) -> None:
    full = _compute(market, start)
    # 1 (a scoring date); the windows' edges (15-date segments, 60 and 119+19 dates); everything.
    for rows in (1, 2, 14, 15, 59, 60, 61, 138, 139, 140, T - start):
        tail = _compute(market, start, rows=rows)
        assert tail.shape == (rows, market.shape[1], spec.N_FEATURES)
        assert _same(tail, full[-rows:]), (start, rows)
    assert _compute(market, start, rows=10 * T).shape[0] == T - start  # more rows than the window: all
    # The check bites: most stocks have every feature defined on the last date.
    assert (~np.isnan(full[-1])).all(axis=1).sum() > market.shape[1] // 2


@pytest.mark.parametrize("cut", [30, 200, 251, 252, 253, 300, T - 1])
def test_features_on_is_the_last_row_of_the_full_window(market: Panel, cut: int) -> None:
    """The scoring path: one date, from the LOOKBACK window before it, as before the tail change."""
    known = market.until(market.dates[cut])
    start = max(0, cut + 1 - spec.LOOKBACK)
    assert _same(features_on(market, market.dates[cut]), _compute(known, start)[-1])
    # ... and within float rounding of training's computation over the whole history.
    full = compute_features(market).values[cut]
    np.testing.assert_allclose(features_on(market, market.dates[cut]), full, rtol=1e-6, atol=1e-9)


def test_features_on_dates_equals_features_on_each_date(market: Panel) -> None:
    dates = [market.dates[d] for d in (300, 260, T - 1, 300)]
    together = features_on_dates(market, dates)
    assert together.shape == (4, market.shape[1], spec.N_FEATURES)
    for k, day in enumerate(dates):
        assert _same(together[k], features_on(market, day)), k


@pytest.mark.realdata
def test_on_the_real_panel_the_scoring_rows_equal_the_full_window(real_parquet: Path) -> None:
    bars = pd.read_parquet(
        real_parquet,
        filters=[("date", ">=", pd.Timestamp("2019-06-01")), ("date", "<=", pd.Timestamp("2020-12-31"))],
    )
    symbols = np.sort(bars["symbol"].astype(str).unique())
    chosen = np.random.default_rng(3).choice(symbols, 400, replace=False)
    panel = Panel.from_long(bars[bars["symbol"].astype(str).isin(chosen)])
    full_history = compute_features(panel).values
    compared = 0
    for cut_date in ("2020-03-23", "2020-08-31", "2020-12-31"):
        row = int(np.searchsorted(panel.dates, np.datetime64(cut_date)))
        known = panel.until(panel.dates[row])
        start = max(0, row + 1 - spec.LOOKBACK)
        one = features_on(panel, panel.dates[row])
        assert _same(one, _compute(known, start)[-1]), cut_date
        assert _same(_compute(known, start, rows=5), _compute(known, start)[-5:]), cut_date
        np.testing.assert_allclose(one, full_history[row], rtol=1e-6, atol=1e-9)
        compared += int((~np.isnan(one)).all(axis=1).sum())
    assert compared > 500  # real stocks with every feature defined were compared
