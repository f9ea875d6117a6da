"""The database-backed source of the Prometheus state gauges (registered in MonitoringConfig.ready)."""

from __future__ import annotations

from django.db import close_old_connections, connection

from common.tracing import get_trace_id
from monitoring import metrics, selectors


def platform_state_for_scrape() -> metrics.PlatformState:
    """``selectors.platform_state`` for the scrape thread.

    Inside a request (or task) the trace id is set and Django closes the connection itself. The
    exporter's own thread (gunicorn post_fork / Celery metrics port) has no request, so it drops the
    connection it opened rather than leak one per thread."""
    # Inside a transaction (a test, a management command) the connection is someone else's: keep it.
    in_request = get_trace_id() is not None or connection.in_atomic_block
    if not in_request:
        close_old_connections()
    try:
        return selectors.platform_state()
    finally:
        if not in_request:
            connection.close()


def state_refresh() -> None:
    """Publish the database's monitoring state into the gauges: the scrape-time source."""
    metrics.state_publish(platform_state_for_scrape())
