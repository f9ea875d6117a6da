from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from backtesting import services, tasks
from backtesting.choices import RunStatus
from backtesting.fold_training import FoldConfig
from backtesting.models import WalkForwardRun
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


def test_preparing_a_walk_forward_dispatches_one_fold_task_per_fold_then_the_summary(
    market: SyntheticMarket, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    RecordedChord.calls = []
    monkeypatch.setattr(tasks, "chord", RecordedChord)
    run = WalkForwardRun.objects.create(
        fingerprint="f" * 64,
        config={"design": {**DESIGN.__dict__, "start": "2021-09-01"}, "fold": FoldConfig().to_dict()},
        algorithm="lightgbm",
        start=DESIGN.start,
        folds=3,
        train_days=120,
        test_days=20,
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.walk_forward_prepare.apply(args=(run.pk,)).get()
    assert result == {"run": run.pk, "status": RunStatus.RUNNING}
    ((header, body),) = RecordedChord.calls
    signatures = list(header.tasks)
    assert [s.task for s in signatures] == ["backtesting.tasks.walk_forward_fold"] * 3
    assert [tuple(s.args) for s in signatures] == [(run.pk, 0), (run.pk, 1), (run.pk, 2)]  # ids only
    assert all(s.immutable for s in signatures)
    assert (body.task, tuple(body.args)) == ("backtesting.tasks.walk_forward_finish", (run.pk,))
    assert run.fold_rows.filter(status=RunStatus.PENDING).count() == 3
    run.refresh_from_db()
    assert len(run.features_key) == 64


def test_fold_and_finish_tasks_take_ids_and_record_their_work(
    market: SyntheticMarket, eager_celery: None, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        run = services.walk_forward_create(design=DESIGN, fold_config=FoldConfig(rounds=10, valid_dates=20))
    # Run fold 0 again on its own, as a worker would.
    result = tasks.walk_forward_fold.apply(args=(run.pk, 0)).get()
    assert result == {"run": run.pk, "fold": 0, "status": RunStatus.SUCCEEDED}
    assert tasks.walk_forward_finish.apply(args=(run.pk,)).get()["status"] == RunStatus.SUCCEEDED
    assert run.fold_rows.count() == 3
