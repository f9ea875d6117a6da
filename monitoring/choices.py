"""Status values of the monitoring app: drift status, degradation action, alert kind and severity."""

from __future__ import annotations

from django.db import models

from monitoring.drift import DriftStatus as PureDriftStatus
from monitoring.performance import DegradationAction as PureDegradationAction


class DriftStatus(models.TextChoices):
    OK = PureDriftStatus.OK.value, "OK"
    WARN = PureDriftStatus.WARN.value, "Warn"
    ALERT = PureDriftStatus.ALERT.value, "Alert: retrain needed"


class DegradationAction(models.TextChoices):
    NONE = PureDegradationAction.NONE.value, "No action"
    ALERT = PureDegradationAction.ALERT.value, "Alert"
    ROLLBACK = PureDegradationAction.ROLLBACK.value, "Rolled back"


class AlertKind(models.TextChoices):
    DRIFT = "drift", "Feature drift: retrain needed"
    DEGRADATION = "degradation", "Realised F1 dropped"
    ROLLBACK = "rollback", "Automatic rollback"
    CHECK_FAILED = "check_failed", "Monitoring check failed"
    FETCH_MISSING = "fetch_missing", "Daily bhavcopy missing"
    ARTIFACT_CHECK = "artifact_check", "Model artifact failed its checksum"


class AlertSeverity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"
