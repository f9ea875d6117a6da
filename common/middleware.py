"""Request middleware: a trace id per request (X-Request-ID in and out), request timing, a request
size limit answered before the body is read, django-prometheus's after-middleware made cheaper
per request, and page-only variants of middleware the JSON API has no use for."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, ClassVar

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.contrib.messages.middleware import MessageMiddleware
from django.http import HttpRequest, HttpResponse, JsonResponse
from django_prometheus import middleware as django_prometheus_middleware

from common.api.errors import request_too_large_body
from common.tracing import clean_trace_id, reset_trace_id, set_trace_id

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


class RequestSizeLimitMiddleware:
    """A body whose Content-Length exceeds ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is answered 413 at once, in
    the API's error shape, without reading it (Django would read it and then fail deep in a view)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = request.META.get("CONTENT_LENGTH") or ""
        if limit and raw.isascii() and raw.isdigit() and len(raw) < 19 and int(raw) > limit:
            return JsonResponse(request_too_large_body(limit), status=413)
        return self.get_response(request)


class PrometheusAfterMiddleware(django_prometheus_middleware.PrometheusAfterMiddleware):
    """django-prometheus's after-middleware, with each labelled child looked up once per process.

    prometheus_client's ``labels()`` validates, sorts and locks on every call, and the stock
    middleware calls it six times per request: most of its cost (bench/monitoring_overhead.py).
    ``label_metric`` is the library's own hook for this. Label values are bounded (view names,
    methods, status codes, charsets, template names), so the cache is too."""

    _children: ClassVar[dict[tuple[Any, ...], Any]] = {}

    def label_metric(self, metric: Any, request: HttpRequest, response: Any = None, **labels: str) -> Any:
        if not labels:
            return metric
        key = (id(metric), *labels.items())
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(**labels)
        return child


# The JSON API: token-authenticated, no pages, no forms, no flash messages, no login form.
API_PREFIX = "/api/v1/"


class _PagesOnly:
    """Runs the middleware for pages (admin, staff, API docs) and steps aside for ``API_PREFIX``: a
    JSON answer needs no Content-Security-Policy and no flash messages, and each
    cost the hot path time on every request (issue 14). Subclasses keep the class they wrap, so
    Django's checks (admin.E409 wants MessageMiddleware) still find it."""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(API_PREFIX):
            return self.get_response(request)  # type: ignore[attr-defined, no-any-return]
        return super().__call__(request)  # type: ignore[misc, no-any-return]


class PagesMessageMiddleware(_PagesOnly, MessageMiddleware):
    pass


class PagesCSPMiddleware(_PagesOnly, CSPMiddleware):
    pass
