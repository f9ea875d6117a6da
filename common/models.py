"""The abstract run record that every kind of run inherits (netbox's ``Job``, as an abstract base).

Status moves only through ``common.services``: ``run_start``, ``run_succeed``, ``run_fail`` and
``run_skip``. The staff pages, the metrics and the reaper all read these same fields.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.db import models

from common.choices import FINISHED_STATUSES, RunStatus


class RunRecord(models.Model):
    """Status, timings, error and note of one run; the concrete model adds what it counts."""

    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.PENDING)
    error = models.TextField(blank=True, help_text="Why the run failed.")
    note = models.TextField(blank=True, help_text="Why the run was skipped, or what it resumed.")
    timings = models.JSONField(default=dict, help_text="Seconds per stage.")
    trace_id = models.CharField(max_length=128, blank=True, help_text="Trace id of the request or task that ran it.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True, help_text="Wall time from start to finish.")
    updated_at = models.DateTimeField(
        auto_now=True, help_text="Last sign of progress: a run RUNNING long past it has stalled (the reaper fails it)."
    )

    # A RUNNING run whose last progress (``updated_at``, or a child run's) is older than this has
    # stalled: ``common.services.runs_reap`` fails it. None: VCP_RUN_STALL_MINUTES. A subclass sets
    # it from the time limit of the task that advances it, plus room for a redelivery.
    stall_after: ClassVar[dt.timedelta | None] = None
    # What to do about a stalled run of this kind, appended to the reaper's error.
    stall_hint: ClassVar[str] = "Start it again: a rerun resumes from what was written."

    class Meta:
        abstract = True

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES
