"""The one status of every run record (batch scoring, ingestion, backtests, walk-forwards, checks)."""

from __future__ import annotations

from django.db import models


class RunStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


# A run in one of these may still change: a second start of the same work must wait or force.
ACTIVE_STATUSES: tuple[str, ...] = (RunStatus.PENDING, RunStatus.RUNNING)
FINISHED_STATUSES: tuple[str, ...] = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.SKIPPED)
