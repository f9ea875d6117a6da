from __future__ import annotations

from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "monitoring"

    def ready(self) -> None:
        from common import metrics as common_metrics
        from monitoring.state import state_refresh

        # Every process (web worker, Celery worker) reports the database's monitoring state at
        # scrape time and counts the Celery task outcomes it sees, eager tasks included.
        common_metrics.state_source_register(refresh=state_refresh, ttl_seconds=30.0)
        common_metrics.connect_celery_signals()

        from modelregistry.signals import artifact_integrity_failed
        from monitoring.receivers import artifact_integrity_alert

        artifact_integrity_failed.connect(artifact_integrity_alert, dispatch_uid="vcp-artifact-integrity-alert")
