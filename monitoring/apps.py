from __future__ import annotations

from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "monitoring"

    def ready(self) -> None:
        from monitoring import metrics
        from monitoring.state import platform_state_for_scrape

        # Every process (web worker, Celery worker) reports the database's monitoring state at
        # scrape time and counts the Celery task outcomes it sees, eager tasks included.
        metrics.state_source_register(load=platform_state_for_scrape, ttl_seconds=30.0)
        metrics.connect_celery_signals()
