"""Registry writes: register, promote, roll back, archive. Each is atomic and audited.

Every state change appends a PromotionEvent in the same transaction, and every web process and
worker learns of it through ``registry_changed`` after commit (see loader.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import time
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from modelregistry import artifacts
from modelregistry.choices import SYSTEM_ACTOR, PromotionAction, VersionStatus
from modelregistry.models import ModelVersion, PromotionEvent
from modelregistry.selectors import model_version_production

logger = logging.getLogger("vcp.registry")

# A signed-in user (admin), None for the platform itself ("system"), or an operator's name from a
# command's --actor (linked to the Django user of that username when there is one).
Actor = AbstractBaseUser | AnonymousUser | str | None


class RegistryError(Exception):
    """A registry transition was refused; the message says why and what to do."""


class ArtifactCheckError(RegistryError):
    pass


class MetricBelowFloorError(RegistryError):
    pass


@dataclass(frozen=True)
class RegisterInput:
    """Everything a trained model brings to the registry (built by the training service)."""

    algorithm: str
    metrics: dict[str, Any]
    threshold: float
    horizon: int
    feature_names: list[str]
    feature_set_hash: str
    train_start: dt.date
    train_end: dt.date
    valid_end: dt.date | None
    test_end: dt.date | None
    data_fingerprint: str
    training_config: dict[str, Any]
    reference: dict[str, Any]
    new_circuit_threshold: float | None = None
    refit_of_id: int | None = None


def _actor_fields(actor: Actor) -> tuple[str, Any]:
    if isinstance(actor, str):
        name = actor.strip()[:150] or SYSTEM_ACTOR
        from django.contrib.auth import get_user_model

        user_model = get_user_model()
        user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: name}).first()
        return name, user
    if actor is None or not getattr(actor, "is_authenticated", False):
        return SYSTEM_ACTOR, None
    return str(actor.get_username()), actor


def _require_reason(reason: str) -> str:
    cleaned = (reason or "").strip()
    if not cleaned:
        raise RegistryError("A reason is required for every registry change; say why in a sentence.")
    return cleaned


def _snapshot(version: ModelVersion) -> dict[str, Any]:
    return {"metrics": version.metrics, "threshold": version.threshold, "status": version.status}


def _audit(
    *,
    version: ModelVersion,
    action: str,
    from_status: str,
    to_status: str,
    actor: Actor,
    reason: str,
    replaced: ModelVersion | None = None,
    snapshot: dict[str, Any] | None = None,
) -> PromotionEvent:
    actor_name, actor_user = _actor_fields(actor)
    event = PromotionEvent.objects.create(
        model_version=version,
        replaced_version=replaced,
        name=version.name,
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor=actor_name,
        actor_user=actor_user,
        reason=reason,
        metrics_snapshot={**_snapshot(version), **(snapshot or {})},
    )
    logger.info(
        "registry %s",
        action,
        extra={"model": version.name, "version": version.version, "actor": actor_name, "reason": reason},
    )
    return event


def _notify_after_commit() -> None:
    from modelregistry.loader import registry_changed

    transaction.on_commit(registry_changed)


def verify_artifacts(version: ModelVersion) -> None:
    """Raise ArtifactCheckError unless every artifact file matches the sha256 the registry recorded.

    ``artifacts.load`` checks the files against their manifest; comparing the manifest with the
    database row as well catches a manifest rewritten to match tampered files.
    """
    try:
        loaded = artifacts.load(
            settings.VCP_ARTIFACT_ROOT, name=version.name, version=str(version.version), native=False
        )
        if loaded.manifest.files != version.checksums:
            raise artifacts.ArtifactIntegrityError("the manifest's checksums differ from the registry's")
    except (artifacts.ArtifactIntegrityError, FileNotFoundError) as exc:
        # Logged only: the caller sees the refusal, and an alert written here would roll back with it.
        logger.error("artifact integrity check failed", extra={"model": version.label, "reason": str(exc)})
        raise ArtifactCheckError(f"{version.label} cannot be used: {exc}. Retrain and register a new version.") from exc


def _check_floors(version: ModelVersion) -> None:
    floors = {"pr_auc": settings.VCP_PROMOTION_MIN_PR_AUC, "f1": settings.VCP_PROMOTION_MIN_F1}
    for key, floor in floors.items():
        value = version.metric(key)
        if floor > 0 and (value is None or value < floor):
            raise MetricBelowFloorError(
                f"{version.label} has test {key}={value} below the floor {floor} "
                f"(VCP_PROMOTION_MIN_{key.upper()}); train a better model or lower the floor."
            )


def _check_artifact_store(name: str) -> None:
    """Refuse before any work when the artifacts of a new version could not be stored."""
    try:
        artifacts.check_writable(settings.VCP_ARTIFACT_ROOT, name=name)
    except artifacts.ArtifactStoreError as exc:
        raise RegistryError(f"Cannot store a new version: {exc}. Free space or fix VCP_ARTIFACT_ROOT.") from exc


def model_version_register(
    *,
    data: RegisterInput,
    name: str,
    native_model: Any,
    onnx_bytes: bytes,
    artifact_metadata: dict[str, Any],
    actor: Actor = None,
) -> ModelVersion:
    """Store the artifacts and create the next version of ``name`` as a candidate, atomically.

    The artifact directory is removed again if the database insert fails, so a retry can reuse
    the version number.
    """
    with transaction.atomic():
        # Lock the name's rows so two concurrent registrations cannot take the same number.
        list(ModelVersion.objects.select_for_update().filter(name=name).values_list("id", flat=True))
        number = (ModelVersion.objects.filter(name=name).aggregate(v=Max("version"))["v"] or 0) + 1
        try:
            manifest = artifacts.save_version(
                settings.VCP_ARTIFACT_ROOT,
                name=name,
                version=str(number),
                native_model=native_model,
                onnx_bytes=onnx_bytes,
                metadata=artifact_metadata,
            )
        except artifacts.ArtifactExistsError:
            raise
        except OSError as exc:  # disk full, read-only: save_version left nothing behind, nor does the row
            raise RegistryError(
                f"Could not store the artifacts of {name} v{number}: {exc.strerror or exc}. Nothing was registered."
            ) from exc
        try:
            _, actor_user = _actor_fields(actor)
            version = ModelVersion.objects.create(
                name=name,
                version=number,
                status=VersionStatus.CANDIDATE,
                created_by=actor_user,
                artifact_uri=str(manifest.directory),
                checksums=dict(manifest.files),
                **data.__dict__,
            )
            _audit(
                version=version,
                action=PromotionAction.REGISTER,
                from_status="",
                to_status=VersionStatus.CANDIDATE,
                actor=actor,
                reason=f"trained {data.algorithm} on {data.train_start}..{data.train_end}"
                + (f", a refit of version id {data.refit_of_id}" if data.refit_of_id else ""),
            )
        except BaseException:
            shutil.rmtree(manifest.directory, ignore_errors=True)
            raise
    return version


def _switch_production(
    *, target: ModelVersion, current: ModelVersion | None, action: str, actor: Actor, reason: str
) -> None:
    """Put ``target`` in production in place of ``current``, audit it, and tell every process."""
    now = timezone.now()
    from_status = target.status
    # Demote first: the partial unique index allows one production row per name at every statement.
    if current is not None:
        current.status = VersionStatus.ARCHIVED
        if action == PromotionAction.ROLLBACK:
            current.rolled_back_at = now
        current.save(update_fields=["status", "rolled_back_at"])
    target.status = VersionStatus.PRODUCTION
    target.promoted_at = now
    target.save(update_fields=["status", "promoted_at", "previous_production"])
    _audit(
        version=target,
        action=action,
        from_status=from_status,
        to_status=VersionStatus.PRODUCTION,
        actor=actor,
        reason=reason,
        replaced=current,
    )
    _notify_after_commit()


def model_version_promote(*, version: ModelVersion, actor: Actor, reason: str) -> ModelVersion:
    """Make ``version`` the production version of its name; the old one becomes the rollback target.

    Refuses when the artifacts fail their checksums or a metric is below its configured floor.
    """
    reason = _require_reason(reason)
    with transaction.atomic():
        target = ModelVersion.objects.select_for_update().get(pk=version.pk)
        if target.status == VersionStatus.PRODUCTION:
            raise RegistryError(f"{target.label} is already in production.")
        verify_artifacts(target)
        _check_floors(target)
        current = model_version_production(name=target.name, for_update=True)
        target.previous_production = current
        _switch_production(target=target, current=current, action=PromotionAction.PROMOTE, actor=actor, reason=reason)
    return target


def model_version_promote_gated(
    *, version: ModelVersion, actor: Actor, reason: str, sessions: int | None = None
) -> tuple[ModelVersion, Any]:
    """Promote ``version`` only if it passes the promotion gate (``modelregistry.gate``); otherwise
    record a REFUSE event saying why. Returns the version and the gate's verdict.

    The gate scores both models on stored bars, outside any transaction (it takes seconds); the
    promotion itself then runs the usual checks (artifacts, floors) atomically.
    """
    from modelregistry.gate import GATE_SESSIONS, challenger_verdict

    reason = _require_reason(reason)
    production = model_version_production(name=version.name)
    if production is not None and production.pk == version.pk:
        raise RegistryError(f"{version.label} is already in production.")
    verdict = challenger_verdict(version, production, sessions=sessions or GATE_SESSIONS)
    if verdict.passed:
        promoted = model_version_promote(version=version, actor=actor, reason=f"{reason} ({verdict.reason})")
        return promoted, verdict
    with transaction.atomic():
        _audit(
            version=version,
            action=PromotionAction.REFUSE,
            from_status=version.status,
            to_status=version.status,
            actor=actor,
            reason=f"{reason}: {verdict.reason}",
            replaced=production,
            snapshot=verdict.to_dict(),
        )
    return version, verdict


def model_version_rollback(*, name: str, actor: Actor, reason: str) -> ModelVersion:
    """Put the previous production version of ``name`` back into production.

    The version rolled back out is archived and stamped ``rolled_back_at`` (the automatic rollback
    uses that stamp to act at most once per version).
    """
    reason = _require_reason(reason)
    with transaction.atomic():
        current = model_version_production(name=name, for_update=True)
        if current is None:
            raise RegistryError(f"{name!r} has no production version to roll back.")
        if current.previous_production_id is None:
            raise RegistryError(
                f"{current.label} has no previous production version to roll back to; promote another version."
            )
        target = ModelVersion.objects.select_for_update().get(pk=current.previous_production_id)
        verify_artifacts(target)
        _switch_production(target=target, current=current, action=PromotionAction.ROLLBACK, actor=actor, reason=reason)
    return target


def model_version_archive(*, version: ModelVersion, actor: Actor, reason: str) -> ModelVersion:
    """Archive a candidate. A production version is replaced by promoting or rolling back instead."""
    reason = _require_reason(reason)
    with transaction.atomic():
        target = ModelVersion.objects.select_for_update().get(pk=version.pk)
        if target.status == VersionStatus.PRODUCTION:
            raise RegistryError(
                f"{target.label} is in production; promote another version or roll back instead of archiving it."
            )
        if target.status == VersionStatus.ARCHIVED:
            raise RegistryError(f"{target.label} is already archived.")
        from_status = target.status
        target.status = VersionStatus.ARCHIVED
        target.save(update_fields=["status"])
        _audit(
            version=target,
            action=PromotionAction.ARCHIVE,
            from_status=from_status,
            to_status=VersionStatus.ARCHIVED,
            actor=actor,
            reason=reason,
        )
    return target


# --- training -------------------------------------------------------------------------------------
EXCHANGES = ("NSE", "BSE")


@dataclass(frozen=True)
class Universe:
    """Which stocks a model is trained on: "all", an exchange, and/or a list of series codes."""

    exchange: str | None
    series: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Universe:
        tokens = [t.strip().upper() for t in text.replace(" ", ",").split(",") if t.strip()]
        if not tokens or tokens == ["ALL"]:
            return cls(exchange=None, series=())
        exchanges = [t for t in tokens if t in EXCHANGES]
        if len(exchanges) > 1:
            raise RegistryError(f"--universe names more than one exchange ({', '.join(exchanges)}); pick one.")
        series = tuple(t for t in tokens if t not in EXCHANGES)
        bad = [s for s in series if not s.isalnum() or len(s) > 4]
        if bad:
            raise RegistryError(f"--universe has invalid entries {bad}: use all, NSE, BSE or series codes like EQ,BE.")
        return cls(exchange=exchanges[0] if exchanges else None, series=series)

    def __str__(self) -> str:
        parts = ([self.exchange] if self.exchange else []) + list(self.series)
        return ",".join(parts) or "all"


def _training_data(*, start: dt.date, end: dt.date, scope: Universe, horizon: int, stage: Any) -> Any:
    """Bars from ``features.spec.LOOKBACK`` trading days before ``start`` to ``end`` (so the first
    training day has complete features), their features and labels, and the universe mask."""
    import numpy as np

    from features import spec
    from marketdata.selectors import bars_panel, nth_trading_date_before
    from modelregistry.datasets import panel_dataset

    started = time.perf_counter()
    first = nth_trading_date_before(end=start, lookback=spec.LOOKBACK) or start
    try:
        # Delisted and suspended stocks too: training only on today's survivors would flatter the model.
        panel = bars_panel(start=first, end=end, exchange=scope.exchange, active_only=False)
    except LookupError as exc:
        raise RegistryError(f"No bars between {first} and {end}: ingest bhavcopy files first.") from exc
    stage("read_bars", time.perf_counter() - started)
    data = panel_dataset(panel, horizon=horizon)
    stage("features_and_labels", sum(data.seconds.values()))
    # The series each stock traded in on each day: a stock's latest series is future information.
    mask = np.isin(panel.day_series(), scope.series) if scope.series else None
    return data, mask


def _register_outcome(
    outcome: Any,
    *,
    name: str,
    actor: Actor,
    metrics: dict[str, Any],
    refit_of: ModelVersion | None = None,
    purpose: str = "manual",
) -> ModelVersion:
    from features import spec

    result = outcome.result
    windows = outcome.windows
    record = RegisterInput(
        algorithm=result.algorithm,
        metrics=metrics,
        threshold=result.threshold,
        new_circuit_threshold=result.new_circuit_threshold,
        horizon=outcome.horizon,
        feature_names=list(result.feature_names),
        feature_set_hash=spec.FEATURE_SET_HASH,
        train_start=windows.train_start,
        train_end=windows.train_end,
        valid_end=getattr(windows, "valid_end", None),
        test_end=getattr(windows, "test_end", None),
        data_fingerprint=outcome.data_fingerprint,
        training_config={
            **outcome.config,
            "timings": outcome.timings,
            "valid_metrics": result.valid_metrics,
            "imbalance": result.imbalance,
            "feature_importance": result.feature_importance,
            "windows": result.windows,
            "onnx_parity": outcome.onnx.parity.to_dict(),
            "purpose": purpose,
            **({"refit_of": refit_of.label} if refit_of is not None else {}),
        },
        reference=outcome.reference.to_dict(),
        refit_of_id=refit_of.pk if refit_of is not None else None,
    )
    return model_version_register(
        data=record,
        name=name,
        native_model=result.model,
        onnx_bytes=outcome.onnx.onnx_bytes,
        artifact_metadata=outcome.artifact_metadata(),
        actor=actor,
    )


def model_train(
    *,
    algorithm: str,
    start: dt.date,
    end: dt.date,
    horizon: int = 1,
    universe: str = "all",
    train_end: dt.date | None = None,
    valid_end: dt.date | None = None,
    seed: int = 0,
    negative_sample_rate: float = 0.3,
    rounds: int | None = None,
    name: str = "upper-circuit",
    actor: Actor = None,
    progress: Any = None,
    on_stage: Any = None,
    purpose: str = "manual",
) -> ModelVersion:
    """Train a model on stored bars from ``start`` to ``end`` and register it as a candidate.

    Without ``train_end``/``valid_end`` the last 20% of dates are the test period and the 15% before
    them validation.
    """
    import numpy as np

    from modelregistry import training
    from modelregistry.runtime import Algorithm
    from modelregistry.training_run import Windows, default_windows, run_training

    if algorithm not in ("xgboost", "lightgbm"):
        raise RegistryError(f"--algorithm must be xgboost or lightgbm, not {algorithm!r}.")
    _check_artifact_store(name)
    if not start < end:
        raise RegistryError(f"--start {start} must be before --end {end}.")
    scope = Universe.parse(universe)
    stage = on_stage or (lambda name, seconds: None)
    data, mask = _training_data(start=start, end=end, scope=scope, horizon=horizon, stage=stage)
    dates = data.panel.dates
    in_range = dates[dates >= np.datetime64(start, "D")]
    try:
        if train_end is None or valid_end is None:
            windows = default_windows(in_range)
        else:
            windows = Windows(train_start=start, train_end=train_end, valid_end=valid_end, test_end=end)
        outcome = run_training(
            data,
            algorithm=cast("Algorithm", algorithm),
            windows=windows,
            universe_mask=mask,
            universe=str(scope),
            seed=seed,
            negative_sample_rate=negative_sample_rate,
            rounds=rounds or training.DEFAULT_ROUNDS,
            progress=progress,
            on_stage=stage,
        )
    except ValueError as exc:
        raise RegistryError(f"Training refused: {exc}.") from exc
    return _register_outcome(outcome, name=name, actor=actor, metrics=outcome.result.test_metrics, purpose=purpose)


def refit_recipe(source: ModelVersion) -> Any:
    """The choices of a validated version that its refit reuses, read from its checked artifacts."""
    from modelregistry import training

    if source.refit_of_id is not None or source.valid_end is None:
        raise RegistryError(
            f"{source.label} is itself a refit (it has no validation period); refit the validated version "
            f"{source.refit_of.label if source.refit_of else 'it came from'} instead."
        )
    verify_artifacts(source)
    loaded = artifacts.load(settings.VCP_ARTIFACT_ROOT, name=source.name, version=str(source.version), native=False)
    meta = loaded.metadata
    n_trees = meta.get("n_trees") or source.training_config.get("n_trees")
    if not n_trees:
        raise RegistryError(f"{source.label} does not record its number of trees; retrain it with train_model.")
    return training.RefitRecipe(
        algorithm=cast("training.Algorithm", source.algorithm),
        params={k: v for k, v in (meta.get("params") or {}).items() if k != "seed"},
        n_trees=int(n_trees),
        calibration=loaded.calibration,
        threshold=loaded.threshold,
        new_circuit_threshold=loaded.new_circuit_threshold,
        negative_sample_rate=float((meta.get("imbalance") or {}).get("negative_sample_rate", 1.0)),
        seed=int(meta.get("seed", 0)),
    )


def model_refit(
    *,
    source: ModelVersion,
    end: dt.date | None = None,
    actor: Actor = None,
    progress: Any = None,
    on_stage: Any = None,
) -> ModelVersion:
    """Refit ``source`` (a validated version) on every labelled day from its training start to ``end``
    (default: the latest bar), with its rounds, calibration and thresholds, and register the result
    as a candidate linked to ``source``. Its metrics are ``source``'s test metrics, marked as such:
    a refit holds nothing out, so the validated run is its only evidence."""
    from marketdata.selectors import trading_date_range
    from modelregistry.training_run import RefitWindow, run_refit

    _check_artifact_store(source.name)
    recipe = refit_recipe(source)
    last = end or trading_date_range()[1]
    if last is None or last <= source.train_start:
        raise RegistryError(f"No bars after {source.train_start} to refit {source.label} on: ingest bhavcopy files.")
    scope = Universe.parse(str(source.training_config.get("universe", "all")))
    stage = on_stage or (lambda name, seconds: None)
    data, mask = _training_data(start=source.train_start, end=last, scope=scope, horizon=source.horizon, stage=stage)
    rows = data.dataset
    labelled = rows.dates[rows.date_idx[-1]].astype("datetime64[D]").item() if len(rows) else None
    if labelled is None:
        raise RegistryError(f"No labelled rows between {source.train_start} and {last}.")
    try:
        outcome = run_refit(
            data,
            recipe=recipe,
            window=RefitWindow(train_start=source.train_start, train_end=labelled),
            universe_mask=mask,
            universe=str(scope),
            progress=progress,
            on_stage=stage,
        )
    except ValueError as exc:
        raise RegistryError(f"Refit refused: {exc}.") from exc
    metrics = {**source.metrics, "evidence": f"test metrics of {source.label}, the validated run this refit reuses"}
    return _register_outcome(outcome, name=source.name, actor=actor, metrics=metrics, refit_of=source, purpose="refit")


@dataclass(frozen=True)
class ChallengerResult:
    version: ModelVersion
    trained: bool  # False: this month's challenger already existed and was reused
    promoted: bool
    verdict: Any  # gate.GateVerdict | None (None when automatic promotion is off)


def challenger_train(*, name: str = "upper-circuit", actor: Actor = None, progress: Any = None) -> ChallengerResult:
    """Train this month's challenger and promote it if it passes the gate (``modelregistry.gate``).

    Windows from the stored dates: the latest ``gate.GATE_SESSIONS`` labelled sessions are its test
    period (the gate's window), the ``VCP_CHALLENGER_VALID_SESSIONS`` before them validation, and
    everything earlier training. Idempotent: a challenger with the same windows is reused, not
    trained twice, and the gate's refusal is recorded once per run.
    """
    from features import spec
    from marketdata.selectors import trading_dates
    from modelregistry.gate import GATE_SESSIONS

    dates = trading_dates()
    valid = settings.VCP_CHALLENGER_VALID_SESSIONS
    # +1: the last date has no label yet; +LOOKBACK: the first training rows need a year of history.
    needed = GATE_SESSIONS + 1 + valid + spec.LOOKBACK + 60
    if len(dates) < needed:
        raise RegistryError(
            f"A challenger needs at least {needed} stored trading days (train, {valid} validation, "
            f"{GATE_SESSIONS} test sessions); there are {len(dates)}. Ingest more history."
        )
    test_end = dates[-1]
    valid_end = dates[-(GATE_SESSIONS + 2)]
    train_end = dates[-(GATE_SESSIONS + 2 + valid)]
    train_start = dates[spec.LOOKBACK]
    algorithm = settings.VCP_CHALLENGER_ALGORITHM
    existing = (
        ModelVersion.objects.filter(
            name=name,
            algorithm=algorithm,
            train_start=train_start,
            train_end=train_end,
            valid_end=valid_end,
            test_end=test_end,
            training_config__purpose="challenger",
        )
        .order_by("-version")
        .first()
    )
    trained = existing is None
    version = existing or model_train(
        algorithm=algorithm,
        start=train_start,
        end=test_end,
        train_end=train_end,
        valid_end=valid_end,
        name=name,
        actor=actor,
        progress=progress,
        purpose="challenger",
    )
    if not settings.VCP_CHALLENGER_AUTO_PROMOTE or version.status != VersionStatus.CANDIDATE:
        return ChallengerResult(version=version, trained=trained, promoted=False, verdict=None)
    promoted, verdict = model_version_promote_gated(
        version=version, actor=actor, reason=f"monthly challenger trained on {train_start}..{train_end}"
    )
    return ChallengerResult(version=promoted, trained=trained, promoted=verdict.passed, verdict=verdict)
