"""The reaper: RUNNING runs of every kind that stopped making progress are failed with the reason."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.conf import LazySettings
from django.utils import timezone

from backtesting.models import BacktestRun, WalkForwardFold, WalkForwardRun
from common.choices import RunStatus
from common.models import RunRecord
from common.services import run_kinds, run_stall_limit, run_start, runs_reap
from common.tasks import reap_stalled_runs
from marketdata.models import FetchRun, IngestRun
from modelregistry.models import ModelVersion
from predictions.models import BatchRun, Prediction
from predictions.services import batch_run_chunk_score, batch_run_inline, batch_run_start
from tests.predictions.conftest import load_market

pytestmark = pytest.mark.django_db

DAY = dt.date(2024, 8, 2)


def _quiet(run: RunRecord, minutes: float) -> RunRecord:
    """Pretend ``run`` last showed progress ``minutes`` ago."""
    type(run).objects.filter(pk=run.pk).update(updated_at=timezone.now() - dt.timedelta(minutes=minutes))  # type: ignore[attr-defined]
    run.refresh_from_db()
    return run


def _walk_forward() -> WalkForwardRun:
    return run_start(
        WalkForwardRun(
            fingerprint="wf-test",
            algorithm="lightgbm",
            start=dt.date(2020, 1, 1),
            folds=2,
            train_days=365,
            test_days=30,
        )
    )


def _fold(run: WalkForwardRun, index: int) -> WalkForwardFold:
    day = dt.date(2021, 1, 1)
    return run_start(
        WalkForwardFold(
            run=run,
            index=index,
            train_start=day,
            train_end=day,
            test_start=day,
            test_end=day,
            embargo_end=day,
            n_train_dates=1,
            n_test_dates=1,
        )
    )


def test_every_run_kind_is_found_without_the_reaper_importing_an_app() -> None:
    kinds = set(run_kinds())
    assert {BatchRun, IngestRun, FetchRun, BacktestRun, WalkForwardRun, WalkForwardFold} <= kinds
    assert run_stall_limit(BatchRun) == dt.timedelta(minutes=30)
    assert run_stall_limit(IngestRun) == dt.timedelta(minutes=60)
    assert run_stall_limit(FetchRun) == dt.timedelta(minutes=20)
    assert run_stall_limit(BacktestRun) == dt.timedelta(minutes=45)  # VCP_RUN_STALL_MINUTES


@pytest.mark.parametrize(
    ("make", "limit", "hint"),
    [
        (lambda n: BatchRun(date=DAY), 30, "score_universe --date D"),
        (lambda n: IngestRun(source="cm02AUG2024bhav.csv"), 60, "ingestion is idempotent"),
        (lambda n: FetchRun(exchange=("NSE", "BSE")[n], trade_date=DAY), 20, "fetch_bhavcopy --date D"),
        (lambda n: BacktestRun(fingerprint=f"bt{n}", source="model", start=DAY, end=DAY, model_key="k"), 45, "rerun"),
    ],
    ids=["batch", "ingest", "fetch", "backtest"],
)
def test_a_run_past_its_stall_limit_is_failed_and_one_within_it_is_left(
    make: Callable[[int], RunRecord], limit: int, hint: str
) -> None:
    stalled = _quiet(run_start(make(0)), limit + 1)
    alive = _quiet(run_start(make(1)), limit - 1)
    reaped = runs_reap()
    assert [(type(run), run.pk) for run in reaped] == [(type(stalled), stalled.pk)]
    stalled.refresh_from_db()
    assert stalled.status == RunStatus.FAILED
    assert stalled.error.startswith("stalled: no progress since")
    assert f"may go {limit} min without" in stalled.error
    assert hint.lower() in stalled.error.lower()
    assert "reaped" in stalled.note
    alive.refresh_from_db()
    assert alive.status == RunStatus.RUNNING


def test_finished_and_pending_runs_are_never_reaped() -> None:
    for status in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.SKIPPED, RunStatus.PENDING):
        run = BatchRun.objects.create(date=DAY, status=status)
        _quiet(run, 600)
    assert runs_reap() == []


def test_a_walk_forward_whose_folds_progress_is_alive_and_is_reaped_once_they_stall_too(
    settings: LazySettings,
) -> None:
    run = _quiet(_walk_forward(), 120)
    fold = _fold(run, 0)  # started just now: the walk-forward is progressing through it
    assert runs_reap() == []
    _quiet(fold, 120)
    reaped = {(type(r).__name__, r.pk) for r in runs_reap()}
    assert reaped == {("WalkForwardRun", run.pk), ("WalkForwardFold", fold.pk)}


def test_the_reaper_task_reports_what_it_failed() -> None:
    run = _quiet(run_start(IngestRun(source="x.csv")), 90)
    assert reap_stalled_runs() == {"reaped": [f"IngestRun:{run.pk}"]}
    assert reap_stalled_runs() == {"reaped": []}


def test_a_scored_chunk_is_progress_for_the_reaper(production: ModelVersion) -> None:
    market = load_market(stocks=24)
    plan = batch_run_start(date=market.last, chunk_size=10)
    _quiet(plan.run, 29)
    batch_run_chunk_score(batch_run_id=plan.run.pk, instrument_ids=plan.chunks[0])
    plan.run.refresh_from_db()
    assert timezone.now() - plan.run.updated_at < dt.timedelta(minutes=1)
    assert plan.run.chunks_done == 1


def test_a_reaped_batch_is_finished_by_a_rerun_without_duplicates(production: ModelVersion) -> None:
    market = load_market(stocks=24)
    plan = batch_run_start(date=market.last, chunk_size=10)
    batch_run_chunk_score(batch_run_id=plan.run.pk, instrument_ids=plan.chunks[0])  # then the worker died
    _quiet(plan.run, 31)
    [reaped] = runs_reap()
    assert (reaped.pk, reaped.status) == (plan.run.pk, RunStatus.FAILED)
    rerun = batch_run_inline(date=market.last, chunk_size=10)
    assert rerun.status == RunStatus.SUCCEEDED
    assert rerun.resumed == len(plan.chunks[0])
    assert Prediction.objects.filter(date=market.last).count() == rerun.instruments
