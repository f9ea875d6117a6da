"""Models loaded in this process, and how every process learns that production changed.

- Lazy: nothing loads until the first request needs it.
- An LRU of the three most recently used versions (ONNX sessions; the native booster is parsed
  only when a caller needs it, e.g. for explanations).
- Checksums are verified on every load (``artifacts.load``) and compared with the registry's.
- Hot reload: promotion and rollback call ``registry_changed`` after commit, which writes a new
  generation number into the shared cache (Redis in production). Each process re-reads that number
  at most every ``CHECK_INTERVAL`` seconds, one cache GET, and re-resolves the production version
  only when it moved. A request in flight keeps the model object it started with, so a switch never
  fails a request.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache

from modelregistry import artifacts
from modelregistry.choices import DEFAULT_MODEL_NAME
from modelregistry.models import ModelVersion
from modelregistry.runtime import NativeScorer, OnnxScorer
from modelregistry.selectors import model_version_production_id

GENERATION_KEY = "vcp:registry:generation"
CHECK_INTERVAL = 1.0
MAX_LOADED = 3


class NoProductionModelError(LookupError):
    """No version of this model name is in production."""


@dataclass
class LoadedModel:
    version_id: int
    name: str
    version: int
    algorithm: str
    threshold: float
    feature_names: tuple[str, ...]
    feature_set_hash: str
    onnx: OnnxScorer
    load_seconds: float
    _native: NativeScorer | None = field(default=None, repr=False)
    _native_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def native(self) -> NativeScorer:
        """The native booster scorer (parsed and verified on first use): batch scoring, explanations."""
        with self._native_lock:
            if self._native is None:
                artifact = artifacts.load(settings.VCP_ARTIFACT_ROOT, name=self.name, version=str(self.version))
                self._native = NativeScorer.from_artifact(artifact)
            return self._native


def _load_version(version: ModelVersion) -> LoadedModel:
    started = time.perf_counter()
    artifact = artifacts.load(settings.VCP_ARTIFACT_ROOT, name=version.name, version=str(version.version), native=False)
    if version.checksums and artifact.manifest.files != version.checksums:
        raise artifacts.ArtifactIntegrityError(
            f"{version.label}: stored files do not match the checksums recorded in the registry"
        )
    onnx = OnnxScorer.from_artifact(artifact, intra_op_threads=1)
    return LoadedModel(
        version_id=version.pk,
        name=version.name,
        version=version.version,
        algorithm=version.algorithm,
        threshold=float(version.threshold),
        feature_names=tuple(version.feature_names),
        feature_set_hash=version.feature_set_hash,
        onnx=onnx,
        load_seconds=time.perf_counter() - started,
    )


class ModelLoader:
    def __init__(self, *, max_loaded: int = MAX_LOADED, check_interval: float = CHECK_INTERVAL) -> None:
        self.max_loaded = max_loaded
        self.check_interval = check_interval
        self._lock = threading.RLock()
        self._models: OrderedDict[int, LoadedModel] = OrderedDict()
        # name -> (generation seen, production version id or None, monotonic time checked)
        self._production: dict[str, tuple[Any, int | None, float]] = {}

    def get(self, version_id: int) -> LoadedModel:
        with self._lock:
            hit = self._models.get(version_id)
            if hit is not None:
                self._models.move_to_end(version_id)
                return hit
        version = ModelVersion.objects.get(pk=version_id)
        loaded = _load_version(version)
        with self._lock:
            self._models[version_id] = loaded
            self._models.move_to_end(version_id)
            while len(self._models) > self.max_loaded:
                self._models.popitem(last=False)
        return loaded

    def production_version_id(self, name: str = DEFAULT_MODEL_NAME) -> int | None:
        now = time.monotonic()
        with self._lock:
            seen = self._production.get(name)
        if seen is not None and now - seen[2] < self.check_interval:
            return seen[1]
        generation = cache.get(GENERATION_KEY)
        if seen is not None and generation == seen[0]:
            with self._lock:
                self._production[name] = (generation, seen[1], now)
            return seen[1]
        version_id = model_version_production_id(name=name)
        with self._lock:
            self._production[name] = (generation, version_id, now)
        return version_id

    def production(self, name: str = DEFAULT_MODEL_NAME) -> LoadedModel:
        version_id = self.production_version_id(name)
        if version_id is None:
            raise NoProductionModelError(
                f"no production version of {name!r}: promote one in admin or with promote_model"
            )
        return self.get(version_id)

    def loaded_version_ids(self) -> list[int]:
        with self._lock:
            return list(self._models)

    def forget_production(self) -> None:
        with self._lock:
            self._production.clear()

    def clear(self) -> None:
        with self._lock:
            self._models.clear()
            self._production.clear()


loader = ModelLoader()


def registry_changed() -> None:
    """Tell every web process and worker that a production version changed (called after commit)."""
    cache.set(GENERATION_KEY, time.time_ns(), timeout=None)
    loader.forget_production()
