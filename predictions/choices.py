"""Status values of prediction batch runs."""

from __future__ import annotations

from django.db import models


class BatchStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
