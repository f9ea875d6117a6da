"""OpenAPI examples of the registry's read API."""

from __future__ import annotations

from typing import Any

from features import spec

MODEL_VERSION_EXAMPLE: dict[str, Any] = {
    "id": 7,
    "name": "upper-circuit",
    "version": 3,
    "algorithm": "xgboost",
    "status": "production",
    "threshold": 0.31,
    "horizon": 1,
    "feature_names": list(spec.FEATURE_NAMES),
    "feature_set_hash": spec.FEATURE_SET_HASH,
    "metrics": {"all": {"model": {"pr_auc": 0.48, "f1": 0.5}}, "new_circuits": {"model": {"pr_auc": 0.21}}},
    "train_start": "2015-06-01",
    "train_end": "2021-06-30",
    "valid_end": "2021-12-31",
    "test_end": "2022-12-30",
    "created_at": "2024-08-01T18:10:00+05:30",
    "promoted_at": "2024-08-01T18:20:00+05:30",
    "rolled_back_at": None,
}
