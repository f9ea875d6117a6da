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
    _train(first, last, out)
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


def _train(first: dt.date, last: dt.date, out: StringIO | None = None) -> ModelVersion:
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
        stdout=out or StringIO(),
    )
    return ModelVersion.objects.order_by("-version").first()  # type: ignore[return-value]


def test_train_model_prints_three_truths_beside_both_naive_rules(market: tuple[dt.date, dt.date]) -> None:
    out = StringIO()
    version = _train(*market, out=out)
    text = out.getvalue()
    assert "Three truths: model | hit today | count over 5 days" in text
    for truth in ("platform", "strict", "lock"):
        for part in ("all", "new_circuits"):
            assert any(line.split()[:2] == [truth, part] and "PR-AUC" in line for line in text.splitlines())
    strict = version.metrics["truths"]["strict"]["all"]
    baselines = strict["baselines"]
    assert strict["model"]["rows"] == baselines["hit_today"]["rows"] == baselines["count_5d"]["rows"]
    assert "precision_at_20" in strict["model"]


def test_refit_trains_to_the_last_labelled_bar_with_the_validated_recipe(
    market: tuple[dt.date, dt.date], settings: object
) -> None:
    first, last = market
    source = _train(first, last)
    out = StringIO()
    call_command("train_model", "--refit", str(source.pk), "--no-progress", stdout=out)
    refit = ModelVersion.objects.get(refit_of=source)
    assert refit.status == VersionStatus.CANDIDATE
    assert (refit.valid_end, refit.test_end) == (None, None)
    assert refit.train_start == source.train_start
    # Every labelled day: the last bar has no next-day label, so training ends on the date before it.
    from marketdata.selectors import trading_dates

    assert refit.train_end == trading_dates()[-2] > source.test_end - dt.timedelta(days=7)
    loaded_source = artifacts.load(settings.VCP_ARTIFACT_ROOT, name=source.name, version=str(source.version))  # type: ignore[attr-defined]
    loaded = artifacts.load(settings.VCP_ARTIFACT_ROOT, name=refit.name, version=str(refit.version))  # type: ignore[attr-defined]
    assert loaded.metadata["n_trees"] == loaded_source.metadata["n_trees"] == refit.training_config["n_trees"]
    assert refit.threshold == source.threshold
    assert refit.new_circuit_threshold == source.new_circuit_threshold
    assert loaded.calibration == loaded_source.calibration
    assert refit.training_config["onnx_parity"]["decision_flips"] == 0
    # Its evidence is the linked run's test metrics, said as such.
    assert refit.metric("pr_auc") == source.metric("pr_auc")
    assert source.label in refit.metrics["evidence"]
    text = out.getvalue()
    assert f"a refit of {source.label}" in text
    assert "Three truths" in text
    assert refit.events.get().reason.endswith(f"a refit of version id {source.pk}")


def test_refit_refuses_a_refit_and_an_unknown_version(market: tuple[dt.date, dt.date]) -> None:
    source = _train(*market)
    call_command("train_model", "--refit", str(source.pk), "--no-progress", stdout=StringIO())
    refit = ModelVersion.objects.get(refit_of=source)
    with pytest.raises(CommandError, match="itself a refit"):
        call_command("train_model", "--refit", str(refit.pk), "--no-progress", stdout=StringIO())
    with pytest.raises(CommandError, match="No model version with id 999"):
        call_command("train_model", "--refit", "999", stdout=StringIO())
    with pytest.raises(CommandError, match="--algorithm"):
        call_command("train_model", "--start", str(market[0]), stdout=StringIO())
    assert ModelVersion.objects.count() == 2
