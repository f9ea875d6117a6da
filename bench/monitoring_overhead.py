"""What the metrics cost a request: the same cheap view with and without django-prometheus's
middleware and the custom collectors, measured in one run as a ratio.

    DEBUG=0 .venv/bin/python bench/monitoring_overhead.py [--rounds 20] [--requests 2000] [--path /api/v1/health]

Requests go through Django's WSGI handler in-process (the whole middleware stack, URL resolution,
the view, the response), so the figure is the server-side cost without a socket or gunicorn in
front. That makes it the conservative figure: a real request adds fixed HTTP and worker costs that
the metrics do not touch, and the ratio only shrinks. Variants are interleaved round by round (A B C,
C B A, ...) so drifting load on a shared machine hits all of them alike. The overhead is the median
over rounds of each round's median latency against bare's in the same round: medians, because
on a shared machine the means carry other processes' time slices.

Variants
    bare        settings.MIDDLEWARE without django-prometheus; the view records nothing
    stock       django-prometheus's own before/after middleware (django_http_* metrics)
    cached      the same metrics through common.middleware.PrometheusAfterMiddleware, which
                looks each labelled child up once instead of on every request
    full        cached, and the view records what /predict records per request:
                observe_prediction (latency histogram + counter) and two observe_cache calls

The default path is a bench-only JSON view (no database, no auth). ``--path`` measures a project
URL instead, e.g. /api/v1/health once it exists; ``full`` then adds the collector calls in a
wrapper middleware. A /metrics scrape is timed separately and amortised over a 15 s scrape interval.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vcp_platform.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
os.environ.setdefault("VCP_LOG_TO_FILE", "0")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.http import HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from django.test import override_settings  # noqa: E402
from django.urls import include, path  # noqa: E402
from prometheus_client import REGISTRY, generate_latest  # noqa: E402

from common import metrics  # noqa: E402

BEFORE = "django_prometheus.middleware.PrometheusBeforeMiddleware"
STOCK_AFTER = "django_prometheus.middleware.PrometheusAfterMiddleware"
CACHED_AFTER = "common.middleware.PrometheusAfterMiddleware"
SCRAPE_INTERVAL_SECONDS = 15.0


def _record_like_predict() -> None:
    metrics.observe_prediction(endpoint="predict", model_version="bench v1", outcome="negative", seconds=0.0035)
    metrics.observe_cache(tier="local", kind="features", hit=True)
    metrics.observe_cache(tier="redis", kind="prediction", hit=False)


def health(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def health_recorded(request: HttpRequest) -> HttpResponse:
    response = JsonResponse({"status": "ok"})
    _record_like_predict()
    return response


class RecordLikePredict:
    """For --path: adds the per-request collector calls around any project view."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        _record_like_predict()
        return response


urlpatterns = [
    path("bench/health", health, name="bench-health"),
    path("bench/health-recorded", health_recorded, name="bench-health-recorded"),
    path("", include(settings.ROOT_URLCONF)),
]


def _environ(path_info: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path_info,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "HTTP_X_REQUEST_ID": "bench",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], object]:
    if not status.startswith("200"):
        raise RuntimeError(f"benchmark request failed: {status}")
    return lambda chunk: None


class Variant:
    def __init__(self, name: str, middleware: list[str], path_info: str) -> None:
        self.name = name
        with override_settings(MIDDLEWARE=middleware, ROOT_URLCONF=__name__):
            self.handler = WSGIHandler()
        self.middleware = middleware
        self.path_info = path_info
        self.latencies: list[float] = []
        self.round_medians: list[float] = []

    def run(self, requests: int) -> None:
        handler, environ, timer = self.handler, _environ(self.path_info), time.perf_counter
        samples = []
        with override_settings(MIDDLEWARE=self.middleware, ROOT_URLCONF=__name__):
            for _ in range(requests):
                environ["wsgi.input"] = io.BytesIO(b"")
                started = timer()
                for _chunk in handler(dict(environ), _start_response):
                    pass
                samples.append(timer() - started)
        self.latencies.extend(samples)
        self.round_medians.append(statistics.median(samples))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--requests", type=int, default=2000, help="requests per variant per round")
    parser.add_argument("--path", default=None, help="a project URL to measure instead of the bench view")
    args = parser.parse_args()

    # The stack as configured, with the after-middleware in its place in either flavour.
    stack = [m for m in settings.MIDDLEWARE if m not in {BEFORE, STOCK_AFTER, CACHED_AFTER}]
    bare = stack
    stock = [BEFORE, *stack, STOCK_AFTER]
    cached = [BEFORE, *stack, CACHED_AFTER]
    if args.path:
        recorded = [BEFORE, *stack, f"{__name__}.RecordLikePredict", CACHED_AFTER]
        plan = [("bare", bare, args.path), ("stock", stock, args.path), ("cached", cached, args.path)]
        plan.append(("full", recorded, args.path))
    else:
        plan = [("bare", bare, "/bench/health"), ("stock", stock, "/bench/health"), ("cached", cached, "/bench/health")]
        plan.append(("full", cached, "/bench/health-recorded"))
    variants = [Variant(name, middleware, path_info) for name, middleware, path_info in plan]
    metrics.state_source_register(refresh=None)  # the scrape below times the registry, not a database read
    for variant in variants:  # warm up: imports, URL resolver caches, label children
        variant.run(300)
        variant.latencies.clear()
        variant.round_medians.clear()

    for r in range(args.rounds):
        for variant in variants if r % 2 == 0 else list(reversed(variants)):
            variant.run(args.requests)

    base = variants[0]
    print(f"{args.rounds} rounds x {args.requests} requests per variant, path {variants[0].path_info}")
    print(f"{'variant':<8} {'req/s':>7} {'mean us':>8} {'p50 us':>8} {'p99 us':>8}  p50 overhead vs bare (IQR)")
    for variant in variants:
        mean = statistics.fmean(variant.latencies)
        ratios = [m / b - 1.0 for m, b in zip(variant.round_medians, base.round_medians, strict=True)]
        q1, q3 = _percentile(ratios, 0.25), _percentile(ratios, 0.75)
        print(
            f"{variant.name:<8} {1 / mean:7.0f} {mean * 1e6:8.1f} {_percentile(variant.latencies, 0.5) * 1e6:8.1f} "
            f"{_percentile(variant.latencies, 0.99) * 1e6:8.1f}  {statistics.median(ratios):+6.1%} "
            f"({q1:+.1%} .. {q3:+.1%})"
        )

    scrape = []
    for _ in range(50):
        started = time.perf_counter()
        generate_latest(REGISTRY)
        scrape.append(time.perf_counter() - started)
    scrape_s = statistics.median(scrape)
    print(
        f"/metrics scrape: {scrape_s * 1e3:.2f} ms per scrape = {scrape_s / SCRAPE_INTERVAL_SECONDS:.4%} of one core "
        f"at a {SCRAPE_INTERVAL_SECONDS:.0f} s scrape interval"
    )
    full = variants[-1]
    extra_us = (_percentile(full.latencies, 0.5) - _percentile(base.latencies, 0.5)) * 1e6
    print(
        f"metrics add {extra_us:.1f} us per request at p50 (full vs bare); against the 3.5 ms /predict p50 "
        f"(docs/architecture.md) that is {extra_us / 3500:.2%}"
    )


if __name__ == "__main__":
    main()
