"""Online predictions: /predict and /batch_predict, for one instrument or up to a thousand at once.

The path per item, cheapest first:
1. the prediction cache (in-process, then Redis), keyed by model version + feature-set hash;
2. the feature vector: feature cache, then the stored ``FeatureSnapshot`` (written nightly by the
   batch), then, for a date the batch has not scored, computed from the stored bars and saved as an
   on-demand snapshot;
3. the production model's ONNX session scores every missing row in one call; ``explain`` adds the
   top-5 contributions from the native booster (log-odds, XGBoost ``pred_contribs``).

An on-demand vector has ``rs_rank63`` missing (NaN): that feature ranks a stock's 63-day return
across the whole universe, which one stock's bars cannot give. The model routes NaN down the
default branch it learned; the next batch run overwrites the snapshot with the ranked value.

Every served prediction leaves one JSON record on the "vcp.audit" logger (no database write).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from django.conf import settings
from django.db import DatabaseError, connection

from features import spec
from features.vcp import features_on_dates
from marketdata.panel import GRID_FIELDS, Panel
from marketdata.selectors import bars_frame
from modelregistry import artifacts
from modelregistry.loader import LoadedModel, NoProductionModelError, loader
from modelregistry.rankings import Rankings
from modelregistry.runtime import Contribution
from predictions import lookups, selectors
from predictions.cache import features_cache, features_key, prediction_key, predictions_cache
from predictions.choices import SnapshotSource
from predictions.exceptions import (
    ComputeBudgetExceededError,
    InvalidFeaturesError,
    ModelUnavailableError,
    NoDataForDateError,
    PredictionError,
    UnknownSymbolError,
)
from predictions.lookups import InstrumentRef
from predictions.models import FeatureSnapshot

audit_logger = logging.getLogger("vcp.audit")

RS_RANK = spec.FEATURE_INDEX["rs_rank63"]
EXPLAIN_TOP = 5


@dataclass(frozen=True)
class PredictItem:
    symbol: str
    exchange: str | None = None
    date: dt.date | None = None


@dataclass(frozen=True)
class Scored:
    """One stock-day's scores as cached (and warmed by the batch): the probability and its rankings."""

    probability: float
    will_hit: bool
    threshold: float
    new_circuit_probability: float | None  # None when the stock is locked today (modelregistry.rankings)
    will_hit_new: bool
    strict_probability: float
    explanation: tuple[Contribution, ...] | None = None

    @classmethod
    def of(
        cls, scores: Rankings, row: int, *, threshold: float, explanation: tuple[Contribution, ...] | None
    ) -> Scored:
        fresh = float(scores.new_circuit_probability[row])
        return cls(
            probability=float(scores.probability[row]),
            will_hit=bool(scores.decision[row]),
            threshold=threshold,
            new_circuit_probability=None if fresh != fresh else fresh,
            will_hit_new=bool(scores.new_circuit_decision[row]),
            strict_probability=float(scores.strict_probability[row]),
            explanation=explanation,
        )


@dataclass(frozen=True)
class ServedPrediction:
    symbol: str
    exchange: str
    series: str
    date: dt.date | None  # None for a what-if vector scored without a date
    probability: float
    will_hit: bool
    threshold: float
    new_circuit_probability: float | None
    will_hit_new: bool
    strict_probability: float
    model_name: str
    model_version: int
    model_version_id: int
    explanation: tuple[Contribution, ...] | None
    served_from: str  # "cache", "snapshot", "computed" or "what_if"


def _artifacts_unavailable() -> ModelUnavailableError:
    # No file names or paths in the answer: the loader logged them, and staff see them in the alert.
    return ModelUnavailableError(
        "The production model's artifacts are missing or failed their checksums; roll back or re-register it.",
        details={"reason": "artifacts_unavailable"},
    )


def production_model() -> LoadedModel:
    """The production model, or ``ModelUnavailableError`` saying why none can serve."""
    try:
        model = loader.production()
    except NoProductionModelError as exc:
        raise ModelUnavailableError(
            "No production model is available; promote a model version first.",
            details={"reason": "no_production_model"},
        ) from exc
    except (FileNotFoundError, artifacts.ArtifactIntegrityError) as exc:
        raise _artifacts_unavailable() from exc
    if model.feature_names != spec.FEATURE_NAMES:
        raise ModelUnavailableError(
            f"{model.name} v{model.version} was trained on a different feature list than this build computes.",
            details={"reason": "feature_list_mismatch", "model_features": list(model.feature_names)},
        )
    return model


def features_vector(values: Mapping[str, float]) -> npt.NDArray[np.float32]:
    """A what-if vector in ``features.spec`` order; every name required, every value a finite number."""
    errors: dict[str, str] = {}
    for name in spec.FEATURE_NAMES:
        value = values.get(name)
        if value is None:
            errors[name] = "This feature is required."
        elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            errors[name] = "Must be a finite number (NaN and Infinity are not allowed)."
    for name in values:
        if name not in spec.FEATURE_INDEX:
            errors[name] = "Unknown feature name."
    if errors:
        raise InvalidFeaturesError("The feature vector is invalid; see details.", details={"fields": errors})
    return np.array([float(values[n]) for n in spec.FEATURE_NAMES], dtype=np.float32)


def _from_json(values: Sequence[float | None]) -> npt.NDArray[np.float32]:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float32)


def _panel_on_dates(panel: Panel, dates: Sequence[dt.date]) -> Panel:
    """``panel`` re-indexed onto the market's trading dates: days without a bar become NaN rows,
    exactly as they are in the whole-universe panel the batch computes on."""
    target = np.array(dates, dtype="datetime64[D]")
    rows = np.searchsorted(target, panel.dates)
    arrays: dict[str, Any] = {}  # (T, N) float64 grids, by field name
    for name in GRID_FIELDS:
        full = np.full((len(target), panel.shape[1]), np.nan)
        full[rows] = getattr(panel, name)
        arrays[name] = full
    return replace(panel, dates=target, **arrays)


def _compute_dates(wanted: Sequence[tuple[InstrumentRef, dt.date]]) -> tuple[dt.date, ...]:
    """The market's trading dates from ``LOOKBACK`` sessions before the earliest asked date to the latest."""
    first = min(d for _, d in wanted)
    last = max(d for _, d in wanted)
    head = lookups.market_dates(end=first, count=spec.LOOKBACK + 1)
    # Calendar days bound the sessions between the two dates; the index probes per date are cheap.
    span = lookups.market_dates(end=last, count=spec.LOOKBACK + 1 + (last - first).days)
    start = head[0] if head else (span[0] if span else last)
    return tuple(d for d in span if d >= start)


def _sessions_only(wanted: Sequence[tuple[InstrumentRef, dt.date]]) -> list[tuple[InstrumentRef, dt.date]]:
    """The items whose date is a stored trading date: no other date can have a bar, and a date
    outside the stored range must not stretch the span every other item is read over."""
    sessions = {d for d in {day for _, day in wanted} if lookups.market_dates(end=d, count=1) == (d,)}
    return [(ref, day) for ref, day in wanted if day in sessions]


def compute_cost(wanted: Sequence[tuple[InstrumentRef, dt.date]]) -> int:
    """Stored bars (instrument x session) that computing ``wanted`` from bars would read at most."""
    valid = _sessions_only(wanted)
    if not valid:
        return 0
    return len({ref.id for ref, _ in valid}) * len(_compute_dates(valid))


def features_compute_many(
    *, wanted: Sequence[tuple[InstrumentRef, dt.date]]
) -> tuple[dict[tuple[int, dt.date], npt.NDArray[np.float32]], dict[tuple[int, dt.date], NoDataForDateError]]:
    """(25,) features of each ``(instrument, date)`` from the stored bars, ``rs_rank63`` NaN: ONE read
    of the bars of every instrument asked and ONE feature pass over every date asked.

    Returns ``(rows, errors)`` keyed by ``(instrument_id, date)``; an instrument without a bar on the
    date is a ``NoDataForDateError`` carrying its latest bar date.
    """
    unique = list(dict.fromkeys(wanted))
    rows: dict[tuple[int, dt.date], npt.NDArray[np.float32]] = {}
    valid = _sessions_only(unique)
    dates = _compute_dates(valid) if valid else ()
    ids = sorted({ref.id for ref, _ in valid})
    frame = None
    if dates:
        # bars_frame streams through the driver's COPY, outside Django's error wrapping: a statement
        # timeout must still reach the API as Django's OperationalError (a 503), not a 500.
        with connection.wrap_database_errors:
            frame = bars_frame(instrument_ids=ids, start=dates[0], end=dates[-1], active_only=False)
    if frame is not None and not frame.empty:
        panel = _panel_on_dates(
            Panel.from_long(frame, key="instrument_id", instrument_ids=frame["instrument_id"]), dates
        )
        column = {int(pk): n for n, pk in enumerate(panel.instrument_ids)}
        position = {d: n for n, d in enumerate(dates)}
        asked = sorted({d for _, d in valid if d in position})
        cube = features_on_dates(panel, [np.datetime64(d, "D") for d in asked])  # (D, N, F)
        layer = {d: n for n, d in enumerate(asked)}
        for ref, day in valid:
            col = column.get(ref.id)
            if col is None or day not in layer or math.isnan(panel.close[position[day], col]):
                continue  # no bar on that day: reported below
            row = cube[layer[day], col].copy()
            row[RS_RANK] = np.nan
            rows[(ref.id, day)] = row
    missing = [(ref, day) for ref, day in unique if (ref.id, day) not in rows]
    latest = lookups.latest_bar_dates(instrument_ids={ref.id for ref, _ in missing}) if missing else {}
    errors: dict[tuple[int, dt.date], NoDataForDateError] = {}
    for ref, day in missing:
        last = latest.get(ref.id)
        errors[(ref.id, day)] = NoDataForDateError(
            f"{ref.symbol} has no bar on {day.isoformat()}.",
            details={"latest_available_date": last.isoformat() if last else None},
        )
    return rows, errors


def features_compute(*, instrument: InstrumentRef, date: dt.date) -> npt.NDArray[np.float32]:
    """(25,) features of one instrument on ``date`` from its stored bars; ``rs_rank63`` is NaN.

    Raises ``NoDataForDateError`` (with the instrument's latest bar date) when it has no bar on ``date``.
    """
    rows, errors = features_compute_many(wanted=[(instrument, date)])
    if errors:
        raise errors[(instrument.id, date)]
    return rows[(instrument.id, date)]


def _snapshot_values(row: npt.NDArray[np.float32]) -> list[float | None]:
    return [None if math.isnan(v) else float(v) for v in row.tolist()]


def _store_on_demand(rows: Mapping[tuple[int, dt.date], npt.NDArray[np.float32]]) -> None:
    snapshots = [
        FeatureSnapshot(
            instrument_id=i,
            date=d,
            feature_set_hash=spec.FEATURE_SET_HASH,
            values=_snapshot_values(row),
            source=SnapshotSource.ON_DEMAND,
        )
        for (i, d), row in rows.items()
    ]
    try:
        # A batch snapshot written meanwhile wins: it has the ranked rs_rank63.
        FeatureSnapshot.objects.bulk_create(snapshots, ignore_conflicts=True)
    except DatabaseError:  # a read-only replica or a busy database must not fail the prediction
        logging.getLogger("vcp.api").warning("could not store on-demand feature snapshots", exc_info=True)


@dataclass
class _Pending:
    index: int
    instrument: InstrumentRef
    date: dt.date
    key: str
    row: npt.NDArray[np.float32] | None = None
    source: str = "snapshot"


def _features_for(pending: list[_Pending], errors: dict[int, PredictionError], *, compute_budget: int) -> None:
    """Fill ``row`` of each pending item from the caches, the snapshots or, for all the rest at once,
    the bars; ``pending`` holds each (instrument, date) once.

    Raises ``ComputeBudgetExceededError`` before reading any bar when the items left to compute would
    read more than ``compute_budget`` stored bars."""
    fkeys = {
        p.index: features_key(feature_set_hash=spec.FEATURE_SET_HASH, instrument_id=p.instrument.id, date=p.date)
        for p in pending
    }
    cached = features_cache.get_many(fkeys.values())
    for p in pending:
        blob = cached.get(fkeys[p.index])
        if blob is not None:
            p.row = np.frombuffer(blob, dtype=np.float32)
    need = [p for p in pending if p.row is None]
    stored = selectors.feature_snapshots_get(
        pairs=[(p.instrument.id, p.date) for p in need], feature_set_hash=spec.FEATURE_SET_HASH
    )
    fresh: dict[str, bytes] = {}
    compute: list[_Pending] = []
    for p in need:
        values = stored.get((p.instrument.id, p.date))
        if values is None:
            compute.append(p)
            continue
        p.row = _from_json(values)
        fresh[fkeys[p.index]] = p.row.tobytes()
    computed: dict[tuple[int, dt.date], npt.NDArray[np.float32]] = {}
    if compute:
        wanted = [(p.instrument, p.date) for p in compute]
        cost = compute_cost(wanted)
        if cost > compute_budget:
            raise ComputeBudgetExceededError(
                f"Computing the features of {len(compute)} items without stored snapshots would read {cost:,} "
                f"stored bars; one request may read {compute_budget:,}. Split the request into smaller ones, "
                "or ask for dates the nightly batch has scored.",
                details={"items_to_compute": len(compute), "bars_to_read": cost, "max_bars": compute_budget},
            )
        computed, failed = features_compute_many(wanted=wanted)
        for p in compute:
            pair = (p.instrument.id, p.date)
            if pair in failed:
                errors[p.index] = failed[pair]
                continue
            p.row = computed[pair]
            p.source = "computed"
            fresh[fkeys[p.index]] = p.row.tobytes()
    features_cache.set_many(fresh)
    if computed:
        _store_on_demand(computed)


def _audit(served: ServedPrediction, *, actor: str, endpoint: str, what_if: Mapping[str, float] | None) -> None:
    audit_logger.info(
        "prediction served",
        extra={
            "event": "prediction",
            "endpoint": endpoint,
            "actor": actor,
            "symbol": served.symbol,
            "exchange": served.exchange,
            "date": served.date.isoformat() if served.date else None,
            "what_if_features": dict(what_if) if what_if is not None else None,
            "explain": served.explanation is not None,
            "model": served.model_name,
            "model_version": served.model_version,
            "model_version_id": served.model_version_id,
            "probability": served.probability,
            "will_hit_upper_circuit": served.will_hit,
            "new_circuit_probability": served.new_circuit_probability,
            "threshold": served.threshold,
            "served_from": served.served_from,
        },
    )


def _served(
    model: LoadedModel,
    instrument: InstrumentRef,
    date: dt.date | None,
    scored: Scored,
    served_from: str,
) -> ServedPrediction:
    return ServedPrediction(
        symbol=instrument.symbol,
        exchange=instrument.exchange,
        series=instrument.series,
        date=date,
        probability=scored.probability,
        will_hit=scored.will_hit,
        threshold=scored.threshold,
        new_circuit_probability=scored.new_circuit_probability,
        will_hit_new=scored.will_hit_new,
        strict_probability=scored.strict_probability,
        model_name=model.name,
        model_version=model.version,
        model_version_id=model.version_id,
        explanation=scored.explanation,
        served_from=served_from,
    )


def _explain(model: LoadedModel, row: npt.NDArray[np.float32]) -> tuple[Contribution, ...]:
    try:
        native = model.native()
    except (FileNotFoundError, artifacts.ArtifactIntegrityError) as exc:
        raise _artifacts_unavailable() from exc
    if native.algorithm != "xgboost":
        return tuple(native.explain(row, top=EXPLAIN_TOP))
    import xgboost as xgb

    # One thread for one row: with the default (every core) the OpenMP threads of two gunicorn workers
    # spin against each other, and an explanation took 68 ms (p50) over HTTP instead of ~4 ms.
    native.model.set_param({"nthread": 1})
    with xgb.config_context(nthread=1):
        return tuple(native.explain(row, top=EXPLAIN_TOP))


def warm_latest_day(model: LoadedModel, dates: set[dt.date]) -> None:
    """At a process's first request for the latest session, copy that session's predictions (all of
    them: the nightly batch put them in the shared tier) into the process's own tier.

    Under a Zipf-like mix over ~11,000 symbols each worker otherwise pays one Redis round trip per
    symbol it has not seen yet, for minutes: ~7% of a /predict worker's Python time under load
    (issue 14). One copy costs a few MGETs of 2,000 keys, once per model version and session."""
    latest = lookups.latest_market_date()
    if latest is None or latest not in dates:
        return

    def keys() -> list[str]:
        return [
            prediction_key(
                version_id=model.version_id,
                feature_set_hash=spec.FEATURE_SET_HASH,
                instrument_id=pk,
                date=latest,
                explain=False,
            )
            for pk in lookups.instruments_traded_on(date=latest)
        ]

    predictions_cache.warm_local_once((model.version_id, latest), keys)


def predictions_serve(
    *, items: Sequence[PredictItem], explain: bool = False, actor: str = "", endpoint: str = "batch_predict"
) -> list[ServedPrediction | PredictionError]:
    """One result per item, in order: a served prediction or the error that stopped that item.

    Items asking for the same instrument and date are looked up, computed and scored once. Raises
    ``ModelUnavailableError`` for the whole call when no production model can serve, and
    ``ComputeBudgetExceededError`` when the items without stored features would read more bars
    than ``VCP_BATCH_COMPUTE_MAX_BARS``.
    """
    model = production_model()
    results: list[ServedPrediction | None] = [None] * len(items)
    errors: dict[int, PredictionError] = {}
    refs = lookups.instruments_resolve(requests=[(it.symbol, it.exchange) for it in items])
    for i, (item, ref) in enumerate(zip(items, refs, strict=True)):
        if ref is None:
            where = f" on {item.exchange}" if item.exchange else ""
            errors[i] = UnknownSymbolError(f"Unknown symbol {item.symbol.strip().upper()!r}{where}.")
    undated = {ref.id for item, ref in zip(items, refs, strict=True) if ref is not None and item.date is None}
    latest = lookups.latest_bar_dates(instrument_ids=undated) if undated else {}

    pending: dict[str, _Pending] = {}  # one per distinct prediction key: duplicates share the work
    copies: dict[str, list[int]] = {}
    for i, (item, ref) in enumerate(zip(items, refs, strict=True)):
        if ref is None:
            continue
        date = item.date or latest.get(ref.id)
        if date is None:
            errors[i] = NoDataForDateError(f"{ref.symbol} has no bars yet.", details={"latest_available_date": None})
            continue
        key = prediction_key(
            version_id=model.version_id,
            feature_set_hash=spec.FEATURE_SET_HASH,
            instrument_id=ref.id,
            date=date,
            explain=explain,
        )
        if key in pending:
            copies[key].append(i)
        else:
            pending[key] = _Pending(index=i, instrument=ref, date=date, key=key)
            copies[key] = [i]

    if not explain:
        warm_latest_day(model, {p.date for p in pending.values()})
    hits = predictions_cache.get_many(pending)
    misses = []
    for p in pending.values():
        if p.key in hits:
            served = _served(model, p.instrument, p.date, hits[p.key], "cache")
            for i in copies[p.key]:
                results[i] = served
        else:
            misses.append(p)

    _features_for(misses, errors, compute_budget=settings.VCP_BATCH_COMPUTE_MAX_BARS)
    ready = [p for p in misses if p.row is not None and p.index not in errors]
    if ready:
        scores = model.onnx.score(np.stack([p.row for p in ready if p.row is not None]))
        fresh: dict[str, Scored] = {}
        for n, p in enumerate(ready):
            assert p.row is not None
            value = Scored.of(
                scores, n, threshold=model.threshold, explanation=_explain(model, p.row) if explain else None
            )
            fresh[p.key] = value
            served = _served(model, p.instrument, p.date, value, p.source)
            for i in copies[p.key]:
                results[i] = served
        predictions_cache.set_many(fresh)
    for p in misses:
        if p.index in errors:
            for i in copies[p.key]:
                errors[i] = errors[p.index]

    out: list[ServedPrediction | PredictionError] = []
    for i, result in enumerate(results):
        if result is None:
            out.append(errors[i])
            continue
        _audit(result, actor=actor, endpoint=endpoint, what_if=None)
        out.append(result)
    return out


def prediction_serve(
    *,
    symbol: str,
    exchange: str | None = None,
    date: dt.date | None = None,
    explain: bool = False,
    features: Mapping[str, float] | None = None,
    actor: str = "",
) -> ServedPrediction:
    """One prediction; raises the item's ``PredictionError`` instead of returning it.

    With ``features`` the vector is scored as given (a what-if): nothing is read from the bars or
    cached, and ``date`` is only echoed back.
    """
    if features is None:
        (result,) = predictions_serve(
            items=[PredictItem(symbol=symbol, exchange=exchange, date=date)],
            explain=explain,
            actor=actor,
            endpoint="predict",
        )
        if isinstance(result, PredictionError):
            raise result
        return result
    row = features_vector(features)
    model = production_model()
    (ref,) = lookups.instruments_resolve(requests=[(symbol, exchange)])
    if ref is None:
        where = f" on {exchange}" if exchange else ""
        raise UnknownSymbolError(f"Unknown symbol {symbol.strip().upper()!r}{where}.")
    scores = model.onnx.score(row)
    served = _served(
        model,
        ref,
        date,
        Scored.of(scores, 0, threshold=model.threshold, explanation=_explain(model, row) if explain else None),
        "what_if",
    )
    _audit(served, actor=actor, endpoint="predict", what_if=features)
    return served


def served_as_dict(served: ServedPrediction) -> dict[str, Any]:
    """The API's response body for one prediction (plain types, ready for the JSON renderer)."""
    body: dict[str, Any] = {
        "symbol": served.symbol,
        "exchange": served.exchange,
        "date": served.date.isoformat() if served.date else None,
        "probability": served.probability,
        "will_hit_upper_circuit": served.will_hit,
        "threshold": served.threshold,
        "new_circuit_probability": served.new_circuit_probability,
        "will_hit_new_circuit": served.will_hit_new,
        "strict_probability": served.strict_probability,
        "model": {"name": served.model_name, "version": served.model_version},
        "served_from": served.served_from,
    }
    if served.explanation is not None:
        body["explanation"] = [
            {"feature": c.feature, "value": c.value, "contribution": c.contribution} for c in served.explanation
        ]
    return body
