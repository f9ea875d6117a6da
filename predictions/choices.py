"""Status values of prediction batch runs, and where a feature snapshot came from."""

from __future__ import annotations

from django.db import models


class BatchStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class SnapshotSource(models.TextChoices):
    # The nightly batch ranks rs_rank63 across the whole universe; a single-stock computation cannot.
    BATCH = "batch", "Batch (whole universe)"
    ON_DEMAND = "on_demand", "On demand (one instrument; rs_rank63 missing)"
