"""Where a feature snapshot came from (batch runs use common.choices.RunStatus)."""

from __future__ import annotations

from django.db import models


class SnapshotSource(models.TextChoices):
    # The nightly batch ranks rs_rank63 across the whole universe; a single-stock computation cannot.
    BATCH = "batch", "Batch (whole universe)"
    ON_DEMAND = "on_demand", "On demand (one instrument; rs_rank63 missing)"
