"""Fixtures for the monitoring tests: a seeded market with known labels, registered versions, eager Celery."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from scipy import stats

from features.reference import reference_from_training
from features.spec import FEATURE_NAMES
from marketdata.calendar import xbom
from marketdata.models import DailyBar, Instrument
from modelregistry import services as registry
from modelregistry.models import ModelVersion
from predictions.models import FeatureSnapshot, Prediction, ShadowPrediction
from tests.factories import register_version

# A frozen reference over 25 independent N(0, 1) features, as a trained version would carry.
REFERENCE = reference_from_training(np.random.default_rng(0).normal(size=(20_000, len(FEATURE_NAMES))), FEATURE_NAMES)


def current_features(rows: int, shift: float) -> np.ndarray:
    """(rows, 25) evenly spaced N(0, 1) quantiles per feature (no sampling noise); feature 0 shifted."""
    q = stats.norm.ppf((np.arange(rows) + 0.5) / rows)
    values = np.column_stack([np.roll(q, 7 * j) for j in range(len(FEATURE_NAMES))])
    values[:, 0] += shift
    return values


@dataclass(frozen=True)
class SeededWindow:
    """Bars and predictions with a known confusion matrix over the labelled prediction dates."""

    sessions: list[dt.date]  # every bar date; predictions on all of them, the last one still unlabelled
    instruments: list[Instrument]
    tp: int
    fp: int
    fn: int

    @property
    def f1(self) -> float:
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn)


def xbom_sessions(start: str, count: int) -> list[dt.date]:
    sessions = xbom().sessions
    return [d.date() for d in sessions[sessions >= start][:count]]


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # admin_user and friends hash a password; PBKDF2 would take half a second per user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def seed_window() -> Callable[..., SeededWindow]:
    """Build ``stocks`` instruments with bars on ``days + 1`` XBOM sessions and one prediction per
    stock and session from ``version``. A realised positive for prediction (t, s) is an upper circuit
    (close = high = +10%) on session t + 1; everything else closes flat below its high. ``tp``, ``fp``
    and ``fn`` fix the confusion matrix over the ``days`` labelled dates; the last session's
    predictions have no label yet."""

    def build(
        version: ModelVersion,
        *,
        tp: int,
        fp: int,
        fn: int,
        days: int = 20,
        stocks: int = 50,
        start: str = "2024-01-01",
        seed: int = 0,
    ) -> SeededWindow:
        sessions = xbom_sessions(start, days + 1)
        instruments = [
            Instrument.objects.get_or_create(exchange="NSE", symbol=f"UC{i:03d}", defaults={"series": "EQ"})[0]
            for i in range(stocks)
        ]
        cells = np.random.default_rng(seed).permutation(days * stocks)
        positive_cells = set(cells[: tp + fn].tolist())
        predicted_cells = set(cells[:tp].tolist()) | set(cells[tp + fn : tp + fn + fp].tolist())
        # Positive for prediction (t, s) <=> upper circuit on bar t + 1.
        circuit_bars = {(cell // stocks + 1, cell % stocks) for cell in positive_cells}
        bars = []
        for t, day in enumerate(sessions):
            for s, instrument in enumerate(instruments):
                hit = (t, s) in circuit_bars
                bars.append(
                    DailyBar(
                        instrument=instrument,
                        date=day,
                        series="EQ",
                        open=100.0,
                        high=110.0 if hit else 101.0,
                        low=99.0,
                        close=110.0 if hit else 100.0,
                        prev_close=100.0,
                        volume=10_000,
                    )
                )
        DailyBar.objects.bulk_create(bars, ignore_conflicts=True)
        predictions = []
        for t, day in enumerate(sessions):
            for s, instrument in enumerate(instruments):
                # On the unlabelled last session the first three stocks are called positive.
                will_hit = (t * stocks + s) in predicted_cells if t < days else s < 3
                predictions.append(
                    Prediction(
                        instrument=instrument,
                        date=day,
                        model_version=version,
                        probability=0.8 if will_hit else 0.02,
                        will_hit=will_hit,
                        threshold=0.5,
                        rank=s + 1,
                        series="EQ",
                    )
                )
        Prediction.objects.bulk_create(predictions)
        return SeededWindow(sessions=sessions, instruments=instruments, tp=tp, fp=fp, fn=fn)

    return build


@dataclass(frozen=True)
class LiftMarket:
    """A seeded market where circuits come in streaks, and the served / shadow scores of each day."""

    sessions: list[dt.date]  # bar dates; predictions on every session but the last are labelled
    instruments: list[Instrument]


def _lock_bar(instrument: Instrument, day: dt.date, locked: bool) -> DailyBar:
    # A +10% close at the high on a round tick is a lock on the platform truth; else a flat day.
    return DailyBar(
        instrument=instrument,
        date=day,
        series="EQ",
        open=100.0,
        high=110.0 if locked else 101.0,
        low=99.0,
        close=110.0 if locked else 100.0,
        prev_close=100.0,
        volume=10_000,
    )


@pytest.fixture
def lift_market() -> Callable[..., LiftMarket]:
    """Build ``stocks`` instruments over ``days + 1`` XBOM sessions. Each session ``positives`` stocks
    lock the next day, ``streak`` of them locked today too (so "hit today" is right for some). The
    ``served`` version predicts every session: a *good* score ranks tomorrow's locks high with some
    overlap, a *bad* one (sessions in ``bad``) is noise. ``shadow`` versions get good scores as
    ShadowPrediction rows, as the batch's shadow scoring stores them."""

    def build(
        served: ModelVersion,
        *,
        days: int,
        bad: range | set[int] = range(0),
        shadow: tuple[ModelVersion, ...] = (),
        stocks: int = 40,
        positives: int = 8,
        streak: int = 2,
        start: str = "2024-01-01",
        seed: int = 0,
    ) -> LiftMarket:
        rng = np.random.default_rng(seed)
        sessions = xbom_sessions(start, days + 1)
        instruments = [
            Instrument.objects.get_or_create(exchange="NSE", symbol=f"LM{i:03d}", defaults={"series": "EQ"})[0]
            for i in range(stocks)
        ]
        locks: list[set[int]] = [set(rng.choice(stocks, positives, replace=False).tolist())]
        for _ in range(days):
            kept = set(rng.choice(sorted(locks[-1]), streak, replace=False).tolist())
            fresh = rng.choice(sorted(set(range(stocks)) - locks[-1]), positives - streak, replace=False)
            locks.append(kept | set(fresh.tolist()))
        DailyBar.objects.bulk_create(
            [
                _lock_bar(inst, day, s in locks[t])
                for t, day in enumerate(sessions)
                for s, inst in enumerate(instruments)
            ]
        )

        def scores(t: int, good: bool) -> np.ndarray:
            noise = rng.uniform(0.0, 1.0, stocks)
            if not good:
                return noise
            tomorrow = (
                np.isin(np.arange(stocks), sorted(locks[t + 1])) if t + 1 < len(locks) else np.zeros(stocks, bool)
            )
            return np.where(tomorrow, 0.45 + 0.5 * noise, 0.6 * noise)

        predictions, shadows = [], []
        for t, day in enumerate(sessions):
            p = scores(t, t not in bad)
            predictions += [
                Prediction(
                    instrument=inst,
                    date=day,
                    model_version=served,
                    probability=float(p[s]),
                    will_hit=bool(p[s] > 0.5),
                    threshold=0.5,
                    rank=s + 1,
                    series="EQ",
                )
                for s, inst in enumerate(instruments)
            ]
            for version in shadow:
                q = scores(t, True)
                shadows += [
                    ShadowPrediction(instrument=inst, date=day, model_version=version, probability=float(q[s]))
                    for s, inst in enumerate(instruments)
                ]
        Prediction.objects.bulk_create(predictions)
        ShadowPrediction.objects.bulk_create(shadows)
        return LiftMarket(sessions=sessions, instruments=instruments)

    return build


@pytest.fixture
def two_versions(db: None) -> tuple[ModelVersion, ModelVersion]:
    """v1 promoted, then v2 (test F1 0.5) promoted over it: v2 is production, v1 its rollback target."""
    v1 = register_version(seed=1, f1=0.5)
    registry.model_version_promote(version=v1, actor=None, reason="first production model")
    v2 = register_version(seed=2, f1=0.5)
    v2 = registry.model_version_promote(version=v2, actor=None, reason="better on the test year")
    return v1, v2


@pytest.fixture
def production(db: None) -> ModelVersion:
    """A production version whose frozen drift reference is REFERENCE."""
    version = register_version(reference=REFERENCE.to_dict())
    return registry.model_version_promote(version=version, actor=None, reason="monitoring test")


@pytest.fixture
def snapshots(production: ModelVersion) -> Callable[..., list[dt.date]]:
    """Store ``values`` (rows, 25) as snapshots spread over ``days`` sessions; returns the sessions."""

    def store(values: np.ndarray, *, days: int = 3) -> list[dt.date]:
        sessions = xbom_sessions("2024-03-01", days)
        per_day = int(np.ceil(len(values) / days))
        instruments = [Instrument.objects.get_or_create(exchange="NSE", symbol=f"DR{i:04d}")[0] for i in range(per_day)]
        rows = [
            FeatureSnapshot(
                instrument=instruments[i % per_day],
                date=sessions[i // per_day],
                feature_set_hash=production.feature_set_hash,
                values=[None if np.isnan(v) else float(v) for v in row],
            )
            for i, row in enumerate(values)
        ]
        FeatureSnapshot.objects.bulk_create(rows)
        return sessions

    return store
