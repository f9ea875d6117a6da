from __future__ import annotations

from typing import Any

from prometheus_client import REGISTRY


def test_the_cached_after_middleware_counts_every_request(client: Any, settings: Any, db: None) -> None:
    assert "common.middleware.PrometheusAfterMiddleware" in settings.MIDDLEWARE
    by_status = {"status": "302", "view": "staff:dashboard", "method": "GET"}
    latency = {"view": "staff:dashboard", "method": "GET"}

    def counts() -> tuple[float, float]:
        return (
            REGISTRY.get_sample_value("django_http_responses_total_by_status_view_method_total", by_status) or 0.0,
            REGISTRY.get_sample_value("django_http_requests_latency_seconds_by_view_method_count", latency) or 0.0,
        )

    before = counts()
    for _ in range(3):
        assert client.get("/staff/").status_code == 302  # anonymous: redirected to the login
    after = counts()
    assert (after[0] - before[0], after[1] - before[1]) == (3.0, 3.0)
    # The latency histogram uses PROMETHEUS_LATENCY_BUCKETS: a 1 ms bucket exists.
    assert (
        REGISTRY.get_sample_value(
            "django_http_requests_latency_seconds_by_view_method_bucket", {**latency, "le": "0.001"}
        )
        is not None
    )
