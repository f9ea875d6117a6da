from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from backtesting import services, tasks
from backtesting.engine import BacktestConfig
from backtesting.fold_training import FoldConfig
from backtesting.models import WalkForwardRun
from backtesting.trading import config_to_dict
from common.choices import RunStatus
from marketdata.synthetic import SyntheticMarket

pytestmark = pytest.mark.django_db

DESIGN = services.WalkForwardDesign(start=dt.date(2021, 9, 1), folds=3, train_days=120, test_days=20)


class RecordedChord:
    """Stands in for celery.chord: keeps the header and the callback instead of sending them."""

    calls: list[tuple[Any, Any]] = []

    def __init__(self, header: Any) -> None:
        self.header = header

    def __call__(self, body: Any) -> None:
        RecordedChord.calls.append((self.header, body))


@pytest.fixture
def prepared(
    market: SyntheticMarket, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> WalkForwardRun:
    """A walk-forward prepared by its task, its chord recorded instead of sent."""
    RecordedChord.calls = []
    monkeypatch.setattr(tasks, "chord", RecordedChord)
    run = WalkForwardRun.objects.create(
        fingerprint="f" * 64,
        config={
            "design": {**DESIGN.__dict__, "start": "2021-09-01"},
            "fold": FoldConfig(rounds=10, valid_dates=20).to_dict(),
            "strategy": config_to_dict(BacktestConfig()),
        },
        algorithm="lightgbm",
        start=DESIGN.start,
        folds=3,
        train_days=120,
        test_days=20,
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.walk_forward_prepare.apply(args=(run.pk,)).get()
    assert result == {"run": run.pk, "status": RunStatus.RUNNING}
    return run


def test_preparing_a_walk_forward_dispatches_one_fold_task_per_fold_then_the_summary(
    prepared: WalkForwardRun,
) -> None:
    ((header, body),) = RecordedChord.calls
    signatures = list(header.tasks)
    assert [s.task for s in signatures] == ["backtesting.tasks.walk_forward_fold"] * 3
    assert [tuple(s.args) for s in signatures] == [(prepared.pk, 0), (prepared.pk, 1), (prepared.pk, 2)]  # ids only
    assert all(s.immutable for s in signatures)
    assert (body.task, tuple(body.args)) == ("backtesting.tasks.walk_forward_finish", (prepared.pk,))
    assert prepared.fold_rows.filter(status=RunStatus.PENDING).count() == 3
    prepared.refresh_from_db()
    assert len(prepared.features_key) == 64


@pytest.mark.slow
def test_fold_tasks_run_in_any_order_and_the_finish_task_pools_them(prepared: WalkForwardRun) -> None:
    # As on several workers: the folds finish in any order, then the chord callback runs.
    for index in (2, 0, 1):
        result = tasks.walk_forward_fold.apply(args=(prepared.pk, index)).get()
        assert result == {"run": prepared.pk, "fold": index, "status": RunStatus.SUCCEEDED}
    assert tasks.walk_forward_finish.apply(args=(prepared.pk,)).get()["status"] == RunStatus.SUCCEEDED
    prepared.refresh_from_db()
    assert prepared.summary["folds_succeeded"] == 3
    assert prepared.backtest.status == RunStatus.SUCCEEDED
