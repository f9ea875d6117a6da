from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from features import spec
from modelregistry import artifacts
from modelregistry.choices import VersionStatus
from modelregistry.models import ModelVersion

pytestmark = pytest.mark.django_db


def test_train_model_registers_a_candidate_with_metrics_artifacts_and_reference(
    market: tuple[dt.date, dt.date], settings: object
) -> None:
    first, last = market
    out = StringIO()
    call_command(
        "train_model",
        "--algorithm",
        "lightgbm",
        "--start",
        str(first),
        "--end",
        str(last),
        "--rounds",
        "40",
        "--no-progress",
        stdout=out,
    )
    version = ModelVersion.objects.get()
    assert version.status == VersionStatus.CANDIDATE
    assert version.algorithm == "lightgbm"
    assert version.feature_names == list(spec.FEATURE_NAMES)
    assert version.feature_set_hash == spec.FEATURE_SET_HASH
    assert version.train_start < version.train_end < version.valid_end <= version.test_end == last
    assert 0 < version.threshold < 1
    for scorer in ("model", "hit_today", "momentum_top_k"):
        assert version.metric("pr_auc", scorer=scorer) is not None
    assert version.metric("pr_auc", part="new_circuits") is not None
    from features.reference import FeatureReference

    reference = FeatureReference.from_dict(version.reference)
    assert reference.names == spec.FEATURE_NAMES
    assert reference.rows > 1000
    assert version.training_config["onnx_parity"]["decision_flips"] == 0
    loaded = artifacts.load(settings.VCP_ARTIFACT_ROOT, name=version.name, version=str(version.version))  # type: ignore[attr-defined]
    assert loaded.manifest.files == version.checksums
    text = out.getvalue()
    assert "Registered upper-circuit v1" in text
    assert "'hit today' baseline" in text
    assert "new circuits only" in text


def test_train_model_explains_bad_input(market: tuple[dt.date, dt.date]) -> None:
    first, last = market
    with pytest.raises(CommandError, match="before"):
        call_command("train_model", "--algorithm", "xgboost", "--start", str(last), "--end", str(first))
    with pytest.raises(CommandError, match="both --train-end and --valid-end"):
        call_command(
            "train_model",
            "--algorithm",
            "xgboost",
            "--start",
            str(first),
            "--end",
            str(last),
            "--train-end",
            str(first),
        )
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("train_model", "--algorithm", "xgboost", "--start", "yesterday", "--end", str(last))
    with pytest.raises(CommandError, match="No bars"):
        call_command("train_model", "--algorithm", "xgboost", "--start", "1999-01-01", "--end", "1999-06-01")
    with pytest.raises(CommandError, match="universe"):
        call_command(
            "train_model", "--algorithm", "xgboost", "--start", str(first), "--end", str(last), "--universe", "NSE,BSE"
        )
    assert not ModelVersion.objects.exists()
