"""Request middleware: a trace id per request (X-Request-ID in and out) and request timing."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from vcp_platform.tracing import clean_trace_id, reset_trace_id, set_trace_id

logger = logging.getLogger("vcp.request")


class TraceIdMiddleware:
    header = "X-Request-ID"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        trace_id = clean_trace_id(request.headers.get(self.header))
        request.trace_id = trace_id  # type: ignore[attr-defined]
        token = set_trace_id(trace_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            elapsed_ms = (time.perf_counter() - started) * 1000.0
            response[self.header] = trace_id
            response["Server-Timing"] = f"app;dur={elapsed_ms:.2f}"
            if elapsed_ms > 1000:
                logger.warning(
                    "slow request",
                    extra={"path": request.path, "method": request.method, "ms": round(elapsed_ms, 1)},
                )
            return response
        finally:
            reset_trace_id(token)
