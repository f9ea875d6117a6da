"""The run-record side of backtesting: errors, configuration fingerprints, claiming a run's row,
timing its stages, and closing it through ``common.services``.

A run is keyed by the fingerprint of its configuration: running the same configuration again
reuses its row (``runs`` counts how often) instead of adding a duplicate.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

from django.db import transaction

from backtesting.jsonify import jsonable
from backtesting.models import BacktestRun, ComparisonRun, WalkForwardRun
from common.choices import ACTIVE_STATUSES, RunStatus
from common.services import run_fail, run_succeed
from modelregistry import artifacts

Run = TypeVar("Run", BacktestRun, WalkForwardRun, ComparisonRun)


class BacktestError(Exception):
    """A run cannot be made as asked: bad dates, no bars, a missing artifact, a run in progress."""


class RunInProgressError(BacktestError):
    pass


def config_fingerprint(config: dict[str, Any]) -> str:
    """sha256 of a configuration's canonical JSON."""
    return hashlib.sha256(json.dumps(jsonable(config), sort_keys=True).encode()).hexdigest()


def run_claim(model: type[Run], *, config: dict[str, Any], fields: dict[str, Any], force: bool) -> Run:
    """The row of this configuration, reset to pending (created when new)."""
    fingerprint = config_fingerprint(config)
    with transaction.atomic():
        run, created = model.objects.select_for_update().get_or_create(
            fingerprint=fingerprint, defaults={**fields, "config": jsonable(config)}
        )
        if not created and run.status in ACTIVE_STATUSES and not force:
            raise RunInProgressError(
                f"{model._meta.verbose_name} {run.pk} with this configuration is {run.status}; "
                "wait for it to finish, or force a restart"
            )
        for name, value in fields.items():
            setattr(run, name, value)
        run.config = jsonable(config)
        run.status = RunStatus.PENDING
        run.error = ""
        run.note = ""
        run.timings = {}
        run.seconds = None
        run.started_at = None
        run.finished_at = None
        run.runs += 1
        run.save()
    return run


class Stages:
    """Seconds per named stage of a run."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - started, 3)


# Bad input or missing data: reported to the caller as a BacktestError with the reason.
USER_ERRORS = (ValueError, LookupError, FileNotFoundError, BacktestError)


def run_fail_with(run: Run, exc: BaseException, stages: Stages) -> Run:
    """Record ``exc`` on the run's row (status FAILED, the stage timings so far)."""
    run.timings = {**run.timings, **stages.seconds}
    return run_fail(run, error=f"{type(exc).__name__}: {exc}")


def run_fail_unless_bug(run: Run, exc: Exception, stages: Stages) -> Run:
    """Record the failure on the run's row; bad input or missing data ends the run there (its row
    says why), anything else is a bug and is raised."""
    run_fail_with(run, exc, stages)
    if isinstance(exc, USER_ERRORS):
        return run
    raise exc


def run_fail_and_raise(run: Run, exc: Exception, stages: Stages) -> NoReturn:
    """Record the failure on the run's row, then raise: a BacktestError for bad input, else as is."""
    run_fail_with(run, exc, stages)
    if isinstance(exc, (*USER_ERRORS, artifacts.ArtifactIntegrityError)):
        raise BacktestError(str(exc)) from exc
    raise exc


def run_finish(run: Run, stages: Stages) -> Run:
    """Close a run as succeeded, saving every field its stages filled in."""
    run.timings = stages.seconds
    return run_succeed(run, extra=None)
