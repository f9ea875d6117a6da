"""Batch scoring of the whole universe as of one date: start, score chunks, finalize.

The run, stage by stage (each stage's seconds land in ``BatchRun.timings``):

1. ``universe``: active instruments with a bar on the date, minus those this model version has
   already scored for it (a rerun after a crash resumes; nothing is scored twice).
2. ``read_bars``: ONE ``bars_panel`` read of the last ``LOOKBACK + 1`` trading dates, all stocks
   (on PostgreSQL two binary ``COPY`` streams over halves of the dates, one snapshot).
3. ``features``: ``features_on`` once over the whole panel: every window runs over the panel, but
   only the scored date's row is finished. It must be the whole universe, because ``rs_rank63``
   ranks each stock's return across all of them.
4. ``snapshots``: the feature rows go into ``FeatureSnapshot`` (bulk upsert). This is how the rows
   reach the chunks: Celery messages carry instrument ids and the run id, never arrays.
5. ``score`` + ``write`` (per chunk, summed): each chunk reads its snapshots (an inline run uses the
   rows step 3 computed, the same float32 values), scores them with the native booster of the run's
   model version (fixed when the run starts, so a promotion mid-run cannot mix versions) and upserts
   its ``Prediction`` rows. Chunks are idempotent.
6. ``rank``, ``export``, ``warm``: the finalize step ranks the day in one SQL statement, writes
   ``VCP_EXPORT_DIR/predictions_YYYY-MM-DD.csv``, warms the shared prediction cache, closes the run.

Who runs the steps: ``predictions.tasks.batch_run_dispatch`` fans the chunks out to the workers as a
chord (with the retry policy on the chunk task); ``batch_run_inline`` runs them one after another in
this process (the command, ``make demo`` and the benchmark), without retries: a failed chunk fails
the run, and a rerun resumes it.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from common.bulk import bulk_upsert
from common.choices import RunStatus
from common.metrics import observe_batch_run
from common.services import run_fail, run_skip, run_start, run_succeed
from features import spec
from features.vcp import features_on
from marketdata.models import DailyBar
from marketdata.selectors import bars_panel, instruments_with_bar_on, latest_bar_date, market_dates
from modelregistry.loader import loader
from modelregistry.models import ModelVersion
from modelregistry.selectors import model_version_production_id
from predictions import selectors
from predictions.cache import BATCH_PREDICTIONS_TTL, prediction_key, predictions_cache
from predictions.choices import SnapshotSource
from predictions.exceptions import ModelUnavailableError, NoDataForDateError
from predictions.export import predictions_csv_write
from predictions.models import BatchRun, FeatureSnapshot, Prediction
from predictions.serving import Scored
from predictions.shadow import shadow_score_run

logger = logging.getLogger("vcp.batch")

_PREDICTION_KEY = ("instrument_id", "date", "model_version_id")
_PREDICTION_UPDATE = (
    "probability",
    "will_hit",
    "threshold",
    "new_circuit_probability",
    "will_hit_new",
    "strict_probability",
    "series",
    "batch_run_id",
)
_PREDICTION_FIELDS = (*_PREDICTION_KEY, *_PREDICTION_UPDATE[:6], "rank", *_PREDICTION_UPDATE[6:])
_METRIC_STATUS = {RunStatus.SUCCEEDED: "success", RunStatus.SKIPPED: "skipped", RunStatus.FAILED: "failure"}
# What a run saves besides its status fields when it closes.
_COUNT_FIELDS = ("scored", "chunks_done", "export_path")


def _observe(run: BatchRun) -> BatchRun:
    assert run.finished_at is not None
    observe_batch_run(
        status=_METRIC_STATUS[RunStatus(run.status)],
        seconds=run.seconds or 0.0,
        rows=run.scored,
        finished_at=run.finished_at.timestamp(),
    )
    return run


def batch_run_skip(*, day: dt.date, reason: str) -> BatchRun:
    """Record a day that has nothing to score (an exchange holiday): a heartbeat, not a failure."""
    return _observe(run_skip(run_start(BatchRun(date=day)), reason=reason))


def batch_run_fail(*, batch_run_id: int, error: str) -> BatchRun:
    """Close a run as failed (idempotent: a finished run is left as it is)."""
    run = BatchRun.objects.get(pk=batch_run_id)
    if run.finished:
        return run
    logger.error("batch run failed", extra={"batch_run": run.pk, "date": str(run.date), "error": error})
    return _observe(run_fail(run, error=error, extra=_COUNT_FIELDS))


def _optional(value: float) -> float | None:
    return None if value != value else float(value)  # NaN -> None


def _json_row(row: np.ndarray) -> list[float | None]:
    return [None if v != v else v for v in row.tolist()]  # NaN -> null: JSON has no NaN


def feature_snapshots_upsert(
    *, date: dt.date, instrument_ids: Sequence[int], rows: np.ndarray, source: str = SnapshotSource.BATCH
) -> int:
    """Store (N, 25) feature rows for N instruments on ``date``; existing snapshots are replaced."""
    # One staging COPY + one INSERT ... ON CONFLICT on PostgreSQL (common.bulk).
    return bulk_upsert(
        model=FeatureSnapshot,
        fields=("instrument_id", "date", "feature_set_hash", "values", "source"),
        rows=(
            (int(i), date, spec.FEATURE_SET_HASH, _json_row(row), source)
            for i, row in zip(instrument_ids, rows, strict=True)
        ),
        unique=("instrument_id", "date", "feature_set_hash"),
        update=("values", "source"),
    )


def _universe_features(*, date: dt.date, instrument_ids: Sequence[int], timings: dict[str, float]) -> np.ndarray:
    """(len(instrument_ids), 25) float32 rows, computed over every stock that traded in the window.

    Inactive instruments are read too: ``rs_rank63`` ranks a day's returns across every stock that
    traded that day, exactly as training does (which reads delisted stocks), so a score and the
    model's training rows see the same cross-section. Only active instruments are then scored.
    """
    started = time.perf_counter()
    dates = market_dates(end=date, count=spec.LOOKBACK + 1)
    # Prices only: the features read no series and no trades, and they are a quarter of the COPY.
    panel = bars_panel(start=dates[0], end=date, active_only=False, prices=True)
    timings["read_bars"] = time.perf_counter() - started
    started = time.perf_counter()
    rows = features_on(panel, np.datetime64(date, "D"))
    column = {int(pk): n for n, pk in enumerate(panel.instrument_ids)}
    timings["features"] = time.perf_counter() - started
    return rows[[column[int(i)] for i in instrument_ids]]


@dataclass(frozen=True)
class BatchPlan:
    """A started run and its chunks of instrument ids, ready to be scored by whoever runs them."""

    run: BatchRun
    chunks: list[list[int]]
    # The feature rows this start computed, by instrument id: a run scored in this process uses them
    # as they are instead of reading back the snapshots it just wrote (Celery chunks read those).
    features: dict[int, np.ndarray] = field(default_factory=dict)


def batch_run_start(*, date: dt.date | None = None, chunk_size: int | None = None) -> BatchPlan:
    """Start a run for ``date`` (default: the latest stored date): fix the model version, compute the
    universe's features once and store them as snapshots, and split what is left to score into chunks.

    A failure is recorded on the run (FAILED, with the reason) and raised.
    """
    total_started = time.perf_counter()
    day = date or latest_bar_date()
    version_id = model_version_production_id()
    run = run_start(BatchRun(date=day or timezone.localdate(), model_version_id=version_id))
    timings: dict[str, float] = {}
    try:
        if version_id is None:
            raise ModelUnavailableError(
                "No production model is available; promote a model version first.",
                details={"reason": "no_production_model"},
            )
        if day is None:
            raise NoDataForDateError("No bars are stored; ingest bhavcopy files or generate a market first.")
        started = time.perf_counter()
        universe = instruments_with_bar_on(date=day)
        if not universe:
            latest = latest_bar_date()
            raise NoDataForDateError(f"No active instrument has a bar on {day}; the latest stored date is {latest}.")
        done = selectors.instruments_scored(date=day, model_version_id=version_id)
        remaining = [i for i in universe if i not in done]
        timings["universe"] = time.perf_counter() - started
        features: dict[int, np.ndarray] = {}
        if remaining:
            rows = _universe_features(date=day, instrument_ids=remaining, timings=timings)
            started = time.perf_counter()
            feature_snapshots_upsert(date=day, instrument_ids=remaining, rows=rows)
            timings["snapshots"] = time.perf_counter() - started
            features = {int(i): row for i, row in zip(remaining, rows, strict=True)}
        size = chunk_size or settings.VCP_SCORE_CHUNK_SIZE
        chunks = [remaining[k : k + size] for k in range(0, len(remaining), size)]
        timings["prepare"] = time.perf_counter() - total_started
        run.instruments = len(universe)
        run.resumed = len(universe) - len(remaining)
        run.chunks_total = len(chunks)
        run.timings = timings
        if run.resumed:
            run.note = f"resumed: {run.resumed} instruments were already scored by this model version"
        run.save(update_fields=["instruments", "resumed", "chunks_total", "timings", "note", "updated_at"])
    except Exception as exc:
        batch_run_fail(batch_run_id=run.pk, error=f"{type(exc).__name__}: {exc}")
        raise
    return BatchPlan(run=run, chunks=chunks, features=features)


def batch_run_inline(*, date: dt.date | None = None, chunk_size: int | None = None) -> BatchRun:
    """Start, score every chunk in this process one after another, and finalize: the whole run now.

    No retries: a failing chunk fails the run, and a rerun resumes from what was written.
    """
    plan = batch_run_start(date=date, chunk_size=chunk_size)
    try:
        results = [
            batch_run_chunk_score(batch_run_id=plan.run.pk, instrument_ids=chunk, features=plan.features)
            for chunk in plan.chunks
        ]
        return batch_run_finalize(batch_run_id=plan.run.pk, chunk_results=results)
    except Exception as exc:
        batch_run_fail(batch_run_id=plan.run.pk, error=f"{type(exc).__name__}: {exc}")
        raise


def batch_run_chunk_score(
    *, batch_run_id: int, instrument_ids: Sequence[int], features: Mapping[int, np.ndarray] | None = None
) -> dict[str, Any]:
    """Score one chunk of a run from its feature snapshots and upsert the predictions.

    ``features``: the rows ``batch_run_start`` computed in this process (``BatchPlan.features``),
    used instead of reading the snapshots back; they hold the same float32 values.
    Idempotent: instruments this run's model version already scored for the date are skipped, and
    the counters move only when this call wrote rows, so a retry or a redelivery changes nothing twice.
    """
    run = BatchRun.objects.only("date", "model_version_id").get(pk=batch_run_id)
    assert run.model_version_id is not None
    started = time.perf_counter()
    done = selectors.instruments_scored(date=run.date, model_version_id=run.model_version_id)
    todo = [int(i) for i in instrument_ids if int(i) not in done]
    if not todo:
        return {"scored": 0, "score": 0.0, "write": 0.0}
    if features is not None and all(i in features for i in todo):
        matrix = np.stack([features[i] for i in todo]).astype(np.float32)
    else:
        stored = dict(
            FeatureSnapshot.objects.filter(
                date=run.date, feature_set_hash=spec.FEATURE_SET_HASH, instrument_id__in=todo
            ).values_list("instrument_id", "values")
        )
        missing = [i for i in todo if i not in stored]
        if missing:
            raise LookupError(f"batch run {batch_run_id}: no feature snapshot for instruments {missing[:10]}")
        matrix = np.array([[np.nan if v is None else v for v in stored[i]] for i in todo], dtype=np.float32)
    scorer = loader.get(run.model_version_id).native()
    scores = scorer.score(matrix)
    score_seconds = time.perf_counter() - started

    started = time.perf_counter()
    # The series the stock traded in on the scored day (it changes; the instrument's is the latest).
    series = dict(DailyBar.objects.filter(instrument_id__in=todo, date=run.date).values_list("instrument_id", "series"))
    rows = [
        (
            i,
            run.date,
            run.model_version_id,
            float(scores.probability[n]),
            bool(scores.decision[n]),
            scorer.threshold,
            _optional(scores.new_circuit_probability[n]),
            bool(scores.new_circuit_decision[n]),
            float(scores.strict_probability[n]),
            0,  # rank: set for the whole day by the finalize step
            series.get(i, ""),
            batch_run_id,
        )
        for n, i in enumerate(todo)
    ]
    with transaction.atomic():
        bulk_upsert(
            model=Prediction, fields=_PREDICTION_FIELDS, rows=rows, unique=_PREDICTION_KEY, update=_PREDICTION_UPDATE
        )
        # updated_at is the run's heartbeat (the reaper reads it): a queryset update skips auto_now.
        BatchRun.objects.filter(pk=batch_run_id).update(
            scored=F("scored") + len(rows), chunks_done=F("chunks_done") + 1, updated_at=timezone.now()
        )
    return {"scored": len(rows), "score": score_seconds, "write": time.perf_counter() - started}


def batch_run_chunk_redelivered(*, batch_run_id: int, instrument_ids: Sequence[int]) -> None:
    """Note on the run that a chunk came back from the broker after its worker was lost."""
    line = f"a chunk of {len(instrument_ids)} instruments was redelivered after its worker was lost\n"
    BatchRun.objects.filter(pk=batch_run_id).update(note=Concat(F("note"), Value(line)), updated_at=timezone.now())
    logger.warning("batch chunk redelivered", extra={"batch_run": batch_run_id, "instruments": len(instrument_ids)})


def predictions_rank(*, date: dt.date, model_version_id: int) -> int:
    """Rank one day's predictions of one version by probability (1 = most likely) in one statement."""
    table = connection.ops.quote_name(Prediction._meta.db_table)
    rank = connection.ops.quote_name("rank")
    sql = (
        f"UPDATE {table} AS p SET {rank} = r.rn FROM ("
        f" SELECT id, ROW_NUMBER() OVER (ORDER BY probability DESC, instrument_id) AS rn"
        f" FROM {table} WHERE date = %s AND model_version_id = %s"
        ") AS r WHERE p.id = r.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [date, model_version_id])
        return int(cursor.rowcount)


def _warm(*, date: dt.date, version: ModelVersion) -> int:
    """Put the day's predictions into the shared cache (native scores: ONNX parity is gated at export)."""
    rows = Prediction.objects.filter(date=date, model_version=version).values_list(
        "instrument_id",
        "probability",
        "will_hit",
        "threshold",
        "new_circuit_probability",
        "will_hit_new",
        "strict_probability",
    )
    values = {
        prediction_key(
            version_id=version.pk, feature_set_hash=spec.FEATURE_SET_HASH, instrument_id=i, date=date, explain=False
        ): Scored(p, hit, t, fresh, hit_new, strict if strict is not None else 0.0)
        for i, p, hit, t, fresh, hit_new, strict in rows
    }
    # Until the next night's batch: the 1-hour default would expire long before the desk's next open.
    predictions_cache.set_many(values, local=False, shared_ttl=BATCH_PREDICTIONS_TTL)
    return len(values)


def batch_run_finalize(*, batch_run_id: int, chunk_results: Sequence[dict[str, Any]]) -> BatchRun:
    """Rank the day, write the CSV export, warm the cache and close the run as succeeded."""
    run = BatchRun.objects.select_related("model_version").get(pk=batch_run_id)
    version = run.model_version
    assert version is not None
    timings = dict(run.timings)
    timings["score"] = sum(float(r.get("score", 0.0)) for r in chunk_results)
    timings["write"] = sum(float(r.get("write", 0.0)) for r in chunk_results)

    started = time.perf_counter()
    predictions_rank(date=run.date, model_version_id=version.pk)
    timings["rank"] = time.perf_counter() - started

    started = time.perf_counter()
    path, _ = predictions_csv_write(
        directory=settings.VCP_EXPORT_DIR,
        date=run.date,
        rows=selectors.predictions_export_rows(date=run.date, model_version_id=version.pk),
        model_name=version.name,
        model_version=version.version,
    )
    timings["export"] = time.perf_counter() - started

    started = time.perf_counter()
    _warm(date=run.date, version=version)
    timings["warm"] = time.perf_counter() - started

    fresh = BatchRun.objects.only("scored", "chunks_done").get(pk=run.pk)
    run.scored, run.chunks_done = fresh.scored, fresh.chunks_done
    run.export_path = str(path)
    run.timings = timings
    run = _observe(run_succeed(run, extra=_COUNT_FIELDS))
    # After serving is settled: the rollback target and challengers, stored apart, never served.
    shadow_score_run(date=run.date, batch_run_id=run.pk)
    logger.info(
        "batch run succeeded",
        extra={"batch_run": run.pk, "date": str(run.date), "scored": run.scored, "resumed": run.resumed},
    )
    return run
