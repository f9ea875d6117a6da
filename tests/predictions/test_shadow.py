"""Shadow scoring in the nightly batch: the rollback target and challengers are scored on the same
snapshots, stored as their own version's rows, and never served or exported."""

from __future__ import annotations

import csv
from typing import Any

import numpy as np
import pytest
from rest_framework.test import APIClient

from features import spec
from modelregistry.loader import loader
from modelregistry.models import ModelVersion
from predictions import selectors, services, shadow
from predictions.models import FeatureSnapshot, Prediction, ShadowPrediction
from tests.conftest import promote
from tests.factories import register_version
from tests.predictions.conftest import Market

LIST = "/api/v1/predictions"


@pytest.fixture
def versions(db: None) -> tuple[ModelVersion, ModelVersion, ModelVersion]:
    """v1 then v2 promoted (v1 is the rollback target), and a candidate marked as this month's challenger."""
    v1 = promote(register_version(seed=1))
    v2 = promote(register_version(seed=2))
    challenger = register_version(seed=3)
    ModelVersion.objects.filter(pk=challenger.pk).update(training_config={"purpose": "challenger"})
    challenger.refresh_from_db()
    return v1, v2, challenger


def test_the_batch_scores_the_rollback_target_and_the_challenger_in_shadow(
    market: Market, versions: tuple[ModelVersion, ModelVersion, ModelVersion]
) -> None:
    v1, v2, challenger = versions
    run = services.batch_run_inline(date=market.last)
    for version in (v1, challenger):
        rows = ShadowPrediction.objects.filter(model_version=version, date=market.last)
        assert rows.count() == run.scored
        assert set(rows.values_list("batch_run_id", flat=True)) == {run.pk}
    assert not ShadowPrediction.objects.filter(model_version=v2).exists()  # production's rows are Predictions
    # The very snapshots production was scored on, through the version's own booster.
    stored = list(
        FeatureSnapshot.objects.filter(date=market.last, feature_set_hash=spec.FEATURE_SET_HASH)
        .order_by("instrument_id")
        .values_list("instrument_id", "values")
    )
    matrix = np.array([[np.nan if v is None else v for v in values] for _, values in stored], dtype=np.float32)
    expected = loader.get(v1.pk).native().score(matrix).probability
    got = dict(ShadowPrediction.objects.filter(model_version=v1).values_list("instrument_id", "probability"))
    assert [got[i] for i, _ in stored] == pytest.approx(expected.tolist())


def test_shadow_rows_are_never_served_or_exported(
    market: Market, versions: tuple[ModelVersion, ModelVersion, ModelVersion], client_api: APIClient
) -> None:
    v1, v2, _ = versions
    run = services.batch_run_inline(date=market.last)
    assert selectors.predictions_default_version(date=market.last) == v2.pk
    assert not Prediction.objects.filter(model_version=v1).exists()
    # Asking the API for the shadow version by id finds nothing to serve.
    body = client_api.get(LIST, {"model_version": v1.pk, "date": market.last.isoformat()}).json()
    assert body["count"] == 0
    served = client_api.get(LIST, {"date": market.last.isoformat(), "page_size": 500}).json()
    assert served["count"] == run.scored
    assert {row["model"]["version"] for row in served["results"]} == {v2.version}
    with open(run.export_path, newline="") as handle:
        exported = list(csv.DictReader(handle))
    assert len(exported) == run.scored
    assert {row["model_version"] for row in exported} == {str(v2.version)}


def test_a_rerun_replaces_shadow_rows_and_old_dates_are_pruned(
    market: Market, versions: tuple[ModelVersion, ModelVersion, ModelVersion], settings: Any
) -> None:
    v1, _, _ = versions
    settings.VCP_SHADOW_KEEP_SESSIONS = 1
    services.batch_run_inline(date=market.dates[-2])
    services.batch_run_inline(date=market.last)
    assert set(ShadowPrediction.objects.values_list("date", flat=True)) == {market.last}
    before = ShadowPrediction.objects.filter(model_version=v1).count()
    assert shadow.shadow_score_day(date=market.last)[v1.label] == before
    assert ShadowPrediction.objects.filter(model_version=v1).count() == before


def test_a_shadow_failure_is_noted_and_never_fails_the_serving_batch(
    market: Market, versions: tuple[ModelVersion, ModelVersion, ModelVersion], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: Any) -> dict[str, int]:
        raise OSError("artifact store unreachable")

    monkeypatch.setattr(shadow, "shadow_score_day", broken)
    run = services.batch_run_inline(date=market.last)
    run.refresh_from_db()
    assert run.status == "succeeded"
    assert "shadow scoring failed (OSError: artifact store unreachable)" in run.note
    assert not ShadowPrediction.objects.exists()


def test_without_a_rollback_target_or_challenger_nothing_is_shadow_scored(market: Market, db: None) -> None:
    promote(register_version(seed=1))
    services.batch_run_inline(date=market.last)
    assert not ShadowPrediction.objects.exists()
