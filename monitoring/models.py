"""The records of the monitoring loop: drift reports, performance reports and alerts.

Every check leaves a row (status, sizes, figures, trace id); the staff dashboard, the admin and the
Prometheus state gauges all read these rows.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from modelregistry.models import ModelVersion
from monitoring.choices import AlertKind, AlertSeverity, DegradationAction, DriftStatus
from monitoring.drift import DriftResult


class DriftReport(models.Model):
    """PSI and KS of each feature of the production version over a window of feature snapshots."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="drift_reports")
    date = models.DateField(help_text="Last snapshot date in the window (the as-of date of the check).")
    window_start = models.DateField(help_text="First snapshot date in the window.")
    window_days = models.PositiveSmallIntegerField(default=1, help_text="Snapshot dates in the window.")
    status = models.CharField(max_length=8, choices=DriftStatus.choices)
    retrain_needed = models.BooleanField(default=False)
    n_current = models.PositiveIntegerField(help_text="Stock-days in the window.")
    n_reference = models.PositiveIntegerField(help_text="Training rows behind the frozen reference.")
    max_psi = models.FloatField()
    drifted_features = models.JSONField(default=list, help_text="Features whose status is above OK, worst first.")
    alerting_features = models.JSONField(
        default=list, help_text="Deciding features at ALERT in this window: what the persistence rule counts."
    )
    persistence = models.JSONField(
        default=dict,
        help_text="k of n windows: counts per feature, the persistent ones and why retrain is (not) needed.",
    )
    population = models.CharField(
        max_length=64, blank=True, help_text="Row filter of the reference, applied to the day's rows ('' = all)."
    )
    missing_shifted = models.JSONField(default=list, help_text="Features whose missing share moved, apart from PSI.")
    result = models.JSONField(help_text="monitoring.drift.DriftResult.to_dict(): per-feature PSI, KS, sizes.")
    seconds = models.FloatField(default=0.0)
    trace_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "date", "window_days"], name="driftreport_unique_version_date_window"
            )
        ]
        indexes = [models.Index(fields=["-date"], name="driftreport_date")]

    def __str__(self) -> str:
        return f"drift {self.date} {self.status} ({self.model_version_id})"

    def drift_result(self) -> DriftResult:
        return DriftResult.from_dict(self.result)


class PerformanceReport(models.Model):
    """Realised precision/recall/F1 of the production version over a rolling window, and what was done."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="performance_reports")
    as_of = models.DateField(help_text="Latest bar date: labels are known for predictions before it.")
    window_days = models.PositiveSmallIntegerField(help_text="Labelled prediction dates asked for.")
    window_start = models.DateField(null=True, blank=True)
    window_end = models.DateField(null=True, blank=True, help_text="Last prediction date with a realised label.")
    labelled_dates = models.PositiveSmallIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0, help_text="Labelled stock-day predictions in the window.")
    positives = models.PositiveIntegerField(default=0, help_text="Realised upper circuits in the window.")
    predicted_positives = models.PositiveIntegerField(default=0)
    tp = models.PositiveIntegerField(default=0)
    fp = models.PositiveIntegerField(default=0)
    fn = models.PositiveIntegerField(default=0)
    precision = models.FloatField(null=True, blank=True)
    recall = models.FloatField(null=True, blank=True)
    f1 = models.FloatField(null=True, blank=True, help_text="Realised F1; empty before any label exists.")
    new_circuit_f1 = models.FloatField(null=True, blank=True, help_text="F1 on stocks not at a circuit that day.")
    new_circuit_positives = models.PositiveIntegerField(default=0)
    precision_at_k = models.FloatField(null=True, blank=True, help_text="Mean per day of the top-k precision.")
    reference_f1 = models.FloatField(null=True, blank=True, help_text="The version's test F1.")
    relative_drop = models.FloatField(null=True, blank=True, help_text="(test F1 - realised F1) / test F1.")
    estimated_f1 = models.FloatField(
        null=True, blank=True, help_text="ESTIMATE from calibrated probabilities for predictions without labels yet."
    )
    estimated_precision = models.FloatField(null=True, blank=True)
    estimated_recall = models.FloatField(null=True, blank=True)
    estimated_rows = models.PositiveIntegerField(default=0)
    estimated_for = models.DateField(null=True, blank=True, help_text="Prediction date the estimate covers.")
    min_positives = models.PositiveIntegerField()
    # The statistic that decides (issue 11): lift over "hit today" on the same rows, platform truth.
    model_pr_auc = models.FloatField(null=True, blank=True)
    naive_pr_auc = models.FloatField(null=True, blank=True, help_text='PR-AUC of "hit today" on the same rows.')
    naive_precision_at_k = models.FloatField(null=True, blank=True, help_text='"hit today" precision@k per day.')
    pr_auc_lift = models.FloatField(null=True, blank=True, help_text="Model PR-AUC minus 'hit today' PR-AUC.")
    precision_at_k_lift = models.FloatField(null=True, blank=True)
    reference_pr_auc_lift = models.FloatField(null=True, blank=True, help_text="The same lift on the test period.")
    reference_precision_at_k_lift = models.FloatField(null=True, blank=True)
    lift_dropped = models.BooleanField(default=False, help_text="Both lifts below the drop threshold this evening.")
    drops_in_last_n = models.PositiveSmallIntegerField(default=0)
    shadow = models.JSONField(
        default=dict, blank=True, help_text="The rollback target scored in shadow on the same rows, and the bootstrap."
    )
    action = models.CharField(max_length=16, choices=DegradationAction.choices, default=DegradationAction.NONE)
    reason = models.TextField(blank=True)
    rolled_back_to = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    seconds = models.FloatField(default=0.0)
    trace_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-as_of", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "as_of", "window_days"], name="performancereport_unique_version_day_window"
            )
        ]
        indexes = [models.Index(fields=["-as_of"], name="performancereport_as_of")]

    def __str__(self) -> str:
        return f"performance {self.as_of} {self.action} ({self.model_version_id})"


class Alert(models.Model):
    """One platform alert. A repeat of the same ``dedupe_key`` within the de-duplication window only
    bumps ``occurrences``: it is not sent again."""

    kind = models.CharField(max_length=16, choices=AlertKind.choices)
    severity = models.CharField(max_length=8, choices=AlertSeverity.choices)
    message = models.TextField()
    context = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(max_length=200)
    occurrences = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()
    delivery = models.JSONField(default=dict, blank=True, help_text='Per channel: "sent", "skipped" or the error.')
    delivered_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    trace_id = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["dedupe_key", "-created_at"], name="alert_key_created"),
            models.Index(fields=["kind"], condition=Q(acknowledged_at__isnull=True), name="alert_open_kind"),
        ]

    def __str__(self) -> str:
        return f"[{self.severity}] {self.kind}: {self.message[:60]}"

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None
