"""Factories for tests: instruments, bars, and real (tiny) registered model versions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory
import numpy as np

from marketdata.models import DailyBar, Instrument
from modelregistry import services
from modelregistry.models import ModelVersion

N_FEATURES = 25


class InstrumentFactory(factory.django.DjangoModelFactory[Instrument]):
    class Meta:
        model = Instrument
        django_get_or_create = ("exchange", "symbol")

    symbol = factory.Sequence(lambda n: f"SYM{n:04d}")
    exchange = "NSE"
    series = "EQ"
    name = factory.LazyAttribute(lambda o: f"{o.symbol} Ltd")


class DailyBarFactory(factory.django.DjangoModelFactory[DailyBar]):
    class Meta:
        model = DailyBar

    instrument = factory.SubFactory(InstrumentFactory)
    date = dt.date(2024, 1, 1)
    series = "EQ"
    open = 100.0
    high = 105.0
    low = 99.0
    close = 104.0
    last = 104.0
    prev_close = 100.0
    volume = 10_000
    trades = 100


def tiny_booster(*, seed: int = 0, rounds: int = 8, n_features: int = N_FEATURES) -> Any:
    """A real, small XGBoost booster trained on random data with a little signal in feature 0."""
    import xgboost as xgb

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((400, n_features)).astype(np.float32)
    y = (x[:, 0] + 0.5 * rng.standard_normal(400) > 1.0).astype(np.float32)
    params = {"objective": "binary:logistic", "max_depth": 3, "eta": 0.3, "nthread": 1, "seed": seed}
    return xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=rounds)


def feature_names(n: int = N_FEATURES) -> list[str]:
    from features.spec import FEATURE_NAMES

    names = list(FEATURE_NAMES)
    return names if len(names) == n else [f"f{i}" for i in range(n)]


def register_version(
    *,
    name: str = "upper-circuit",
    seed: int = 0,
    f1: float = 0.5,
    pr_auc: float = 0.4,
    threshold: float = 0.5,
    reference: dict[str, Any] | None = None,
) -> ModelVersion:
    """Register a real tiny model through the service (artifacts written, checksums recorded)."""
    from modelregistry.export import convert_to_onnx
    from modelregistry.runtime import Calibration

    booster = tiny_booster(seed=seed)
    names = feature_names()
    metrics = {
        "threshold": threshold,
        "k": 20,
        "all": {
            "model": {"f1": f1, "pr_auc": pr_auc, "precision": 0.5, "recall": 0.5, "precision_at_20": 0.3},
            "baselines": {
                "hit_today": {"f1": 0.4, "pr_auc": 0.2, "precision_at_20": 0.1},
                "momentum_top_k": {"f1": 0.1, "pr_auc": 0.05},
            },
        },
        "new_circuits": {"model": {"f1": f1 / 3, "pr_auc": pr_auc / 4}, "baselines": {}},
    }
    data = services.RegisterInput(
        algorithm="xgboost",
        metrics=metrics,
        threshold=threshold,
        horizon=1,
        feature_names=names,
        feature_set_hash="test-hash",
        train_start=dt.date(2020, 1, 1),
        train_end=dt.date(2021, 12, 31),
        valid_end=dt.date(2022, 6, 30),
        test_end=dt.date(2022, 12, 31),
        data_fingerprint="fingerprint",
        training_config={"seed": seed},
        reference=reference or {},
    )
    return services.model_version_register(
        data=data,
        name=name,
        native_model=booster,
        onnx_bytes=convert_to_onnx(booster),
        artifact_metadata={
            "feature_names": names,
            "threshold": threshold,
            "calibration": Calibration("identity").to_dict(),
            "metrics": metrics,
        },
    )
