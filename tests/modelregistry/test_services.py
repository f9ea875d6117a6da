from __future__ import annotations

from pathlib import Path

import pytest
from django.db import IntegrityError, transaction

from modelregistry import services
from modelregistry.choices import PromotionAction, VersionStatus
from modelregistry.models import ModelVersion, PromotionEvent
from modelregistry.services import Universe
from tests.factories import register_version

pytestmark = pytest.mark.django_db


def _production(name: str = "upper-circuit") -> list[int]:
    return list(
        ModelVersion.objects.filter(name=name, status=VersionStatus.PRODUCTION).values_list("version", flat=True)
    )


def test_register_numbers_versions_per_name_and_audits() -> None:
    a = register_version()
    b = register_version(seed=1)
    other = register_version(name="other-model")
    assert (a.version, b.version, other.version) == (1, 2, 1)
    assert a.status == VersionStatus.CANDIDATE
    assert set(a.checksums) == {"model.ubj", "model.onnx", "metadata.json"}
    assert PromotionEvent.objects.filter(action=PromotionAction.REGISTER).count() == 3


def test_promote_then_promote_again_keeps_one_production_and_sets_rollback_target() -> None:
    a, b = register_version(), register_version(seed=1)
    services.model_version_promote(version=a, actor=None, reason="first model")
    services.model_version_promote(version=b, actor=None, reason="better")
    a.refresh_from_db()
    b.refresh_from_db()
    assert _production() == [2]
    assert a.status == VersionStatus.ARCHIVED
    assert b.previous_production_id == a.pk


def test_rollback_restores_previous_and_stamps_the_rolled_back_version() -> None:
    a, b = register_version(), register_version(seed=1)
    services.model_version_promote(version=a, actor=None, reason="first")
    services.model_version_promote(version=b, actor=None, reason="second")
    restored = services.model_version_rollback(name="upper-circuit", actor=None, reason="F1 fell")
    b.refresh_from_db()
    assert restored.pk == a.pk
    assert _production() == [1]
    assert b.rolled_back_at is not None
    event = PromotionEvent.objects.filter(action=PromotionAction.ROLLBACK).get()
    assert (event.model_version_id, event.replaced_version_id, event.actor) == (a.pk, b.pk, "system")


def test_rollback_without_a_previous_version_is_refused() -> None:
    a = register_version()
    with pytest.raises(services.RegistryError, match="no production version"):
        services.model_version_rollback(name="upper-circuit", actor=None, reason="x")
    services.model_version_promote(version=a, actor=None, reason="first")
    with pytest.raises(services.RegistryError, match="no previous production version"):
        services.model_version_rollback(name="upper-circuit", actor=None, reason="x")
    assert _production() == [1]


def test_database_enforces_one_production_version_per_name() -> None:
    a, b = register_version(), register_version(seed=1)
    ModelVersion.objects.filter(pk=a.pk).update(status=VersionStatus.PRODUCTION)
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.filter(pk=b.pk).update(status=VersionStatus.PRODUCTION)


def test_tampered_artifact_cannot_be_promoted(settings: object) -> None:
    a = register_version()
    onnx = Path(a.artifact_uri) / "model.onnx"
    onnx.write_bytes(onnx.read_bytes() + b"tampered")
    with pytest.raises(services.ArtifactCheckError, match=r"model\.onnx"):
        services.model_version_promote(version=a, actor=None, reason="try")
    assert _production() == []
    assert not PromotionEvent.objects.filter(action=PromotionAction.PROMOTE).exists()


def test_rewritten_manifest_is_caught_by_the_registry_checksums() -> None:
    import json

    a = register_version()
    directory = Path(a.artifact_uri)
    manifest = json.loads((directory / "manifest.json").read_text())
    meta = directory / "metadata.json"
    meta.write_bytes(meta.read_bytes().replace(b'"threshold": 0.5', b'"threshold": 0.1'))
    from modelregistry.artifacts import sha256_hex

    manifest["files"]["metadata.json"]["sha256"] = sha256_hex(meta.read_bytes())
    (directory / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(services.ArtifactCheckError, match="registry"):
        services.model_version_promote(version=a, actor=None, reason="try")


def test_metric_floor_refuses_promotion(settings: object) -> None:
    settings.VCP_PROMOTION_MIN_PR_AUC = 0.5  # type: ignore[attr-defined]
    weak = register_version(pr_auc=0.3)
    with pytest.raises(services.MetricBelowFloorError, match="pr_auc"):
        services.model_version_promote(version=weak, actor=None, reason="try")


def test_reason_is_required_and_production_cannot_be_archived() -> None:
    a = register_version()
    with pytest.raises(services.RegistryError, match="reason"):
        services.model_version_promote(version=a, actor=None, reason="  ")
    services.model_version_promote(version=a, actor=None, reason="go")
    with pytest.raises(services.RegistryError, match="in production"):
        services.model_version_archive(version=a, actor=None, reason="no")
    with pytest.raises(services.RegistryError, match="already in production"):
        services.model_version_promote(version=a, actor=None, reason="again")


def test_archive_candidate_is_audited_and_final() -> None:
    a = register_version()
    services.model_version_archive(version=a, actor=None, reason="superseded")
    a.refresh_from_db()
    assert a.status == VersionStatus.ARCHIVED
    with pytest.raises(services.RegistryError, match="already archived"):
        services.model_version_archive(version=a, actor=None, reason="again")


def test_promotion_events_are_append_only() -> None:
    register_version()
    event = PromotionEvent.objects.get()
    event.reason = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()


def test_universe_parsing() -> None:
    assert str(Universe.parse("all")) == "all"
    assert Universe.parse("nse, eq").exchange == "NSE"
    assert Universe.parse("EQ,BE").series == ("EQ", "BE")
    with pytest.raises(Exception, match="invalid entries"):
        Universe.parse("EQ,not-a-series")
