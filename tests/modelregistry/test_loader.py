"""The per-process loader: Redis errors fall back to the database's pointer, and the production
artifacts are re-verified while running (modelregistry/loader.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.conf import LazySettings
from django.core.cache import cache

from common import sharedcache
from modelregistry import artifacts
from modelregistry.loader import ModelLoader
from modelregistry.models import ModelVersion
from modelregistry.services import model_version_promote
from monitoring.choices import AlertKind
from monitoring.models import Alert
from tests.factories import register_version

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_serving_state")]


def _down(*args: object, **kwargs: object) -> None:
    raise ConnectionError("redis is down")


def _file(settings: LazySettings, version: ModelVersion, name: str) -> Path:
    return Path(settings.VCP_ARTIFACT_ROOT) / version.name / str(version.version) / name


def test_a_redis_error_falls_back_to_the_database_pointer(
    production: ModelVersion, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = ModelLoader(check_interval=0.0, db_recheck=0.0)
    assert fresh.production_version_id() == production.pk
    monkeypatch.setattr(cache, "get", _down)
    newer = register_version(seed=2)
    model_version_promote(version=newer, actor=None, reason="while redis is down")  # on_commit: no bump here
    assert fresh.production_version_id() == newer.pk  # no exception, and the database's answer


def test_without_a_shared_cache_the_pointer_is_reread_at_most_every_recheck(
    production: ModelVersion, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sharedcache, "is_shared", lambda alias="default": False)
    fresh = ModelLoader(check_interval=0.0, db_recheck=0.3)
    assert fresh.production_version_id() == production.pk
    newer = register_version(seed=2)
    model_version_promote(version=newer, actor=None, reason="no redis at all")
    assert fresh.production_version_id() == production.pk  # within the recheck interval: the cached pointer
    time.sleep(0.35)
    assert fresh.production_version_id() == newer.pk


def test_a_file_changed_after_loading_is_refused_at_the_next_check_and_alerted(
    production: ModelVersion, settings: LazySettings
) -> None:
    fresh = ModelLoader(verify_interval=0.2)
    assert fresh.production().version_id == production.pk
    onnx = _file(settings, production, "model.onnx")
    original = onnx.read_bytes()
    onnx.write_bytes(original + b"tampered")
    assert fresh.production().version_id == production.pk  # not due yet: still served from memory
    time.sleep(0.25)
    with pytest.raises(artifacts.ArtifactIntegrityError, match=r"model\.onnx"):
        fresh.production()
    assert production.pk in fresh.refused()
    alert = Alert.objects.get(kind=AlertKind.ARTIFACT_CHECK)
    assert alert.context["model_version_id"] == production.pk
    with pytest.raises(artifacts.ArtifactIntegrityError):
        fresh.production()  # refused without re-reading the file until the interval passes
    assert Alert.objects.filter(kind=AlertKind.ARTIFACT_CHECK).count() == 1

    onnx.write_bytes(original)
    time.sleep(0.25)
    assert fresh.production().version_id == production.pk  # restored: served again, no restart
    assert fresh.refused() == {}
