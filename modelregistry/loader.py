"""Models loaded in this process, and how every process learns that production changed.

- Lazy: nothing loads until the first request needs it.
- An LRU of the three most recently used versions (ONNX sessions; the native booster is parsed
  only when a caller needs it, e.g. for explanations).
- Checksums are verified on every load (``artifacts.load``) and compared with the registry's, and
  again while running: a loaded version is re-hashed against the registry's record at most every
  ``VCP_ARTIFACT_VERIFY_SECONDS`` (30) and whenever the production pointer moves. A version whose
  files no longer match is refused (``ArtifactIntegrityError``; the API answers 503, readiness
  "not ready"), logged, counted (``vcp_artifact_integrity_failures_total``) and announced through
  ``modelregistry.signals.artifact_integrity_failed`` (monitoring raises the alert). It is tried
  again one interval later, so restoring the files brings it back without a restart.
- Hot reload: promotion and rollback call ``registry_changed`` after commit, which writes a new
  generation number into the shared cache (Redis in production). Each process re-reads that number
  at most every ``CHECK_INTERVAL`` seconds, one cache GET, and re-resolves the production version
  only when it moved. A request in flight keeps the model object it started with, so a switch never
  fails a request.
- Without a shared cache (``REDIS_URL`` unset: the local-memory cache reaches only this process) or
  while it fails, the process re-reads the database's production pointer instead, at most every
  ``VCP_REGISTRY_DB_RECHECK_SECONDS`` (2). A Redis error never fails a request. Even with Redis
  answering, the pointer is re-read every ``SAFETY_RECHECK`` seconds, in case a generation write
  was lost.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache

from common import sharedcache
from common.metrics import observe_artifact_integrity_failure
from modelregistry import artifacts
from modelregistry.choices import DEFAULT_MODEL_NAME
from modelregistry.models import ModelVersion
from modelregistry.runtime import NativeScorer, OnnxScorer
from modelregistry.selectors import model_version_production_id
from modelregistry.signals import artifact_integrity_failed

logger = logging.getLogger("vcp.registry")

GENERATION_KEY = "vcp:registry:generation"
CHECK_INTERVAL = 1.0
SAFETY_RECHECK = 30.0
MAX_LOADED = 3
_NO_GENERATION = object()  # the shared cache could not be read, or is not shared


def _db_recheck_seconds() -> float:
    return float(getattr(settings, "VCP_REGISTRY_DB_RECHECK_SECONDS", 2.0))


def _verify_seconds() -> float:
    return float(getattr(settings, "VCP_ARTIFACT_VERIFY_SECONDS", 30.0))


def _read_generation() -> Any:
    """The shared generation number, or ``_NO_GENERATION`` when no shared cache can tell."""
    if not sharedcache.is_shared():
        return _NO_GENERATION
    return sharedcache.guarded(lambda: cache.get(GENERATION_KEY), _NO_GENERATION)


class NoProductionModelError(LookupError):
    """No version of this model name is in production."""


@dataclass
class LoadedModel:
    version_id: int
    name: str
    version: int
    algorithm: str
    threshold: float
    new_circuit_threshold: float
    feature_names: tuple[str, ...]
    feature_set_hash: str
    onnx: OnnxScorer
    load_seconds: float
    checksums: dict[str, str] = field(default_factory=dict)  # the registry's record: file name -> sha256
    verified_at: float = 0.0  # time.monotonic() of the last successful check of the files
    _native: NativeScorer | None = field(default=None, repr=False)
    _native_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"

    def native(self) -> NativeScorer:
        """The native booster scorer (parsed and verified on first use): batch scoring, explanations.

        A file that no longer matches the registry's sha256 refuses the whole version in this process
        (``ArtifactIntegrityError``), exactly as the running check does."""
        with self._native_lock:
            if self._native is None:
                try:
                    artifact = artifacts.load(settings.VCP_ARTIFACT_ROOT, name=self.name, version=str(self.version))
                    if self.checksums and artifact.manifest.files != self.checksums:
                        raise artifacts.ArtifactIntegrityError(
                            f"{self.label}: stored files do not match the checksums recorded in the registry"
                        )
                except (artifacts.ArtifactIntegrityError, FileNotFoundError) as exc:
                    loader.refuse(self, reason=str(exc), where="native")
                    raise artifacts.ArtifactIntegrityError(str(exc)) from exc
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
        new_circuit_threshold=float(
            version.threshold if version.new_circuit_threshold is None else version.new_circuit_threshold
        ),
        feature_names=tuple(version.feature_names),
        feature_set_hash=version.feature_set_hash,
        onnx=onnx,
        load_seconds=time.perf_counter() - started,
        checksums=dict(version.checksums or artifact.manifest.files),
        verified_at=time.monotonic(),
    )


@dataclass(frozen=True)
class Refusal:
    reason: str  # names the file: for logs and staff, never for API clients
    at: float  # time.monotonic()


@dataclass
class _Pointer:
    generation: Any
    version_id: int | None
    checked_at: float  # last look at the generation (or at the database, without one)
    db_read_at: float  # last read of the database's production pointer


class ModelLoader:
    def __init__(
        self,
        *,
        max_loaded: int = MAX_LOADED,
        check_interval: float = CHECK_INTERVAL,
        db_recheck: float | None = None,
        verify_interval: float | None = None,
    ) -> None:
        self.max_loaded = max_loaded
        self.check_interval = check_interval
        self._db_recheck = db_recheck
        self._verify_interval = verify_interval
        self._lock = threading.RLock()
        self._models: OrderedDict[int, LoadedModel] = OrderedDict()
        self._production: dict[str, _Pointer] = {}
        self._refused: dict[int, Refusal] = {}

    @property
    def db_recheck(self) -> float:
        return _db_recheck_seconds() if self._db_recheck is None else self._db_recheck

    @property
    def verify_interval(self) -> float:
        return _verify_seconds() if self._verify_interval is None else self._verify_interval

    def get(self, version_id: int) -> LoadedModel:
        """The loaded version, re-verified when its check is due; ``ArtifactIntegrityError`` if refused."""
        now = time.monotonic()
        with self._lock:
            refused = self._refused.get(version_id)
            hit = self._models.get(version_id)
            if hit is not None:
                self._models.move_to_end(version_id)
        if refused is not None and now - refused.at < self.verify_interval:
            raise artifacts.ArtifactIntegrityError(refused.reason)
        if hit is not None:
            if now - hit.verified_at >= self.verify_interval:
                self._verify(hit)
            return hit
        version = ModelVersion.objects.get(pk=version_id)
        try:
            loaded = _load_version(version)
        except artifacts.ArtifactIntegrityError as exc:
            self._refuse_version(
                version_id=version.pk, name=version.name, version=version.version, reason=str(exc), where="loader"
            )
            raise
        with self._lock:
            if self._refused.pop(version_id, None) is not None:
                logger.warning("model artifacts verify again; serving the version", extra={"model": version.label})
            self._models[version_id] = loaded
            self._models.move_to_end(version_id)
            while len(self._models) > self.max_loaded:
                self._models.popitem(last=False)
        return loaded

    def _verify(self, model: LoadedModel) -> None:
        try:
            artifacts.verify_files(
                settings.VCP_ARTIFACT_ROOT, name=model.name, version=str(model.version), expected=model.checksums
            )
        except artifacts.ArtifactIntegrityError as exc:
            self.refuse(model, reason=str(exc), where="loader")
            raise
        model.verified_at = time.monotonic()

    def refuse(self, model: LoadedModel, *, reason: str, where: str) -> None:
        """Stop serving ``model`` in this process: its files no longer match the registry's record."""
        self._refuse_version(
            version_id=model.version_id, name=model.name, version=model.version, reason=reason, where=where
        )

    def _refuse_version(self, *, version_id: int, name: str, version: int, reason: str, where: str) -> None:
        with self._lock:
            self._models.pop(version_id, None)
            first = version_id not in self._refused
            self._refused[version_id] = Refusal(reason=reason, at=time.monotonic())
        if not first:
            return
        label = f"{name} v{version}"
        logger.error(
            "model artifacts failed their integrity check; this process stops serving the version",
            extra={"model": label, "model_version_id": version_id, "reason": reason, "where": where},
        )
        observe_artifact_integrity_failure(model_version=label)
        try:
            artifact_integrity_failed.send(
                sender=ModelLoader, version_id=version_id, name=name, version=version, reason=reason, where=where
            )
        except Exception:  # an alert that cannot be recorded (database down) must not change the answer
            logger.exception("could not report the artifact integrity failure", extra={"model": label})

    def refused(self) -> dict[int, Refusal]:
        with self._lock:
            return dict(self._refused)

    def production_version_id(self, name: str = DEFAULT_MODEL_NAME) -> int | None:
        now = time.monotonic()
        with self._lock:
            seen = self._production.get(name)
        if seen is not None and now - seen.checked_at < self.check_interval:
            return seen.version_id
        generation = _read_generation()
        if seen is not None:
            if generation is _NO_GENERATION:
                fresh = now - seen.db_read_at < self.db_recheck
            else:
                fresh = generation == seen.generation and now - seen.db_read_at < SAFETY_RECHECK
            if fresh:
                seen.checked_at = now
                return seen.version_id
        version_id = model_version_production_id(name=name)
        if seen is not None and version_id != seen.version_id:
            self._reverify_loaded()
        with self._lock:
            self._production[name] = _Pointer(generation, version_id, now, now)
        return version_id

    def _reverify_loaded(self) -> None:
        """The pointer moved: check the files of every loaded version on its next use."""
        with self._lock:
            for model in self._models.values():
                model.verified_at = 0.0
            self._refused.clear()

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
        self._reverify_loaded()

    def clear(self) -> None:
        with self._lock:
            self._models.clear()
            self._production.clear()
            self._refused.clear()


loader = ModelLoader()


def registry_changed() -> None:
    """Tell every web process and worker that a production version changed (called after commit).

    A Redis error is logged, not raised: the change is committed, and every process re-reads the
    database's pointer within ``VCP_REGISTRY_DB_RECHECK_SECONDS`` while the shared cache fails."""
    loader.forget_production()
    try:
        cache.set(GENERATION_KEY, time.time_ns(), timeout=None)
    except Exception:
        logger.warning("could not publish the registry generation; processes fall back to the database", exc_info=True)
