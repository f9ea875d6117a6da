"""Predictions, the feature vectors they were made from, and the batch runs that made them."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.db import models

from common.models import RunRecord
from marketdata.models import Instrument
from modelregistry.models import ModelVersion
from predictions.choices import SnapshotSource


class BatchRun(RunRecord):
    """One scoring of the universe as of a date: counts, per-stage timings, export, error."""

    # Quiet stretches: the start (features, within the daily task's 10 min) and a chunk redelivered
    # after a lost worker (the broker's visibility timeout, 11 min); every chunk bumps updated_at.
    stall_after: ClassVar[dt.timedelta | None] = dt.timedelta(minutes=30)
    stall_hint: ClassVar[str] = "Score the date again (score_universe --date D): it resumes without duplicates."

    date = models.DateField(help_text="As-of date: features use bars up to this evening's close.")
    model_version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    instruments = models.PositiveIntegerField(default=0, help_text="Active instruments with a bar on the date.")
    scored = models.PositiveIntegerField(default=0)
    resumed = models.PositiveIntegerField(default=0, help_text="Instruments already scored by an earlier run.")
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    export_path = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["date", "status"], name="batchrun_date_status")]

    def __str__(self) -> str:
        return f"batch {self.date} ({self.status})"


class FeatureSnapshot(models.Model):
    """The 25 features of one instrument as of one date: what the API serves without recomputing."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    feature_set_hash = models.CharField(max_length=64)
    values = models.JSONField(help_text="Feature values in the order of features.spec; null where undefined.")
    source = models.CharField(max_length=16, choices=SnapshotSource.choices, default=SnapshotSource.BATCH)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["instrument", "date", "feature_set_hash"], name="featuresnapshot_unique_instrument_date_set"
            )
        ]
        indexes = [models.Index(fields=["date"], name="featuresnapshot_date")]

    def __str__(self) -> str:
        return f"features {self.instrument_id}@{self.date}"


class Prediction(models.Model):
    """A model version's probability that an instrument hits its upper circuit after ``date``."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="+")
    date = models.DateField(help_text="As-of date of the features; the prediction is for the next trading day(s).")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="predictions")
    probability = models.FloatField(help_text="P(locked at the upper circuit of its band on the next trading day).")
    will_hit = models.BooleanField()
    threshold = models.FloatField()
    new_circuit_probability = models.FloatField(
        null=True, blank=True, help_text="The same probability for a stock not locked today (empty when it is)."
    )
    will_hit_new = models.BooleanField(default=False, help_text="A fresh candidate above the new-circuit threshold.")
    strict_probability = models.FloatField(
        null=True, blank=True, help_text="The probability where a lock would be a round band move (strict), else 0."
    )
    rank = models.PositiveIntegerField(help_text="1 = most likely, within the date and model version.")
    series = models.CharField(max_length=4, blank=True)
    batch_run = models.ForeignKey(BatchRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["instrument", "date", "model_version"], name="prediction_unique_instrument_date_version"
            )
        ]
        indexes = [
            models.Index(fields=["date", "model_version", "rank"], name="prediction_date_version_rank"),
            models.Index(fields=["date", "-probability"], name="prediction_date_probability"),
            models.Index(
                fields=["date", "model_version", "-new_circuit_probability"], name="prediction_date_version_new"
            ),
        ]
        ordering = ["date", "rank"]

    def __str__(self) -> str:
        return f"{self.instrument_id}@{self.date} p={self.probability:.3f}"


class ShadowPrediction(models.Model):
    """A probability from a version that is *not* serving (production's rollback target, a challenger),
    scored every evening on the same snapshots as production so a rollback or a promotion is decided
    on evidence (issue 11). Its own table: serving, the API and the CSV export read ``Prediction``
    only, so a shadow row can never be served or exported. Kept for ``VCP_SHADOW_KEEP_SESSIONS``."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="+")
    date = models.DateField(help_text="As-of date of the features, as Prediction.date.")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="shadow_predictions")
    probability = models.FloatField()
    batch_run = models.ForeignKey(BatchRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["instrument", "date", "model_version"], name="shadowprediction_unique_instrument_date_version"
            )
        ]
        indexes = [models.Index(fields=["model_version", "date"], name="shadowprediction_version_date")]

    def __str__(self) -> str:
        return f"shadow {self.instrument_id}@{self.date} v{self.model_version_id} p={self.probability:.3f}"
