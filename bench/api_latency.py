"""/api/v1/predict latency: p50/p95/p99, in-process and over HTTP through gunicorn (2 sync workers).

Three kinds of request, each measured both ways:

- cached: the same (symbol, date) again: the in-process LRU answers (Redis for a new worker);
- uncached: a (symbol, date) never asked before, whose FeatureSnapshot the batch wrote: both
  cache tiers miss, the snapshot is read from PostgreSQL and scored by ONNX Runtime;
- computed: a (symbol, date) with no snapshot: features computed from 311 stored bars, then scored;
- explain: ``explain: true`` for a (symbol, date) whose features are cached: adds the native
  booster's SHAP contributions (XGBoost ``pred_contribs``).

Every request goes through the whole production path: token auth (cached), the per-token throttle
(Redis), the audit record (JSON to the audit log file), metrics. Targets: p95 < 10 ms cached and
< 30 ms uncached. The HTTP client is a closed loop of 2 threads (requests), on the same 2 cores as
gunicorn, so HTTP figures include the client's own cost.

Setup: a scratch PostgreSQL database (vcp_bench_api), a 600-stock synthetic market, a 300-tree
depth-6 XGBoost model (bench/batch_scoring.py's), the last 4 dates batch-scored.

Run: DATABASE_URL=postgres://vcp:vcp@127.0.0.1:5432/vcp REDIS_URL=redis://127.0.0.1:6379/0 \
     .venv/bin/python bench/api_latency.py
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.batch_scoring import (
    END,
    ROOT,
    _drop_database,
    _recreate_database,
    _register_and_promote,
    _train_model,
    _with_database,
)


def _percentiles(ms: Sequence[float]) -> str:
    p50, p95, p99 = np.percentile(np.asarray(ms), [50, 95, 99])
    return f"p50 {p50:6.2f}  p95 {p95:6.2f}  p99 {p99:6.2f} ms  (n={len(ms)})"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _in_process(token: str, bodies: Sequence[dict[str, Any]]) -> list[float]:
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    out = []
    for body in bodies:
        payload = json.dumps(body)
        started = time.perf_counter()
        response = client.post("/api/v1/predict", payload, content_type="application/json")
        out.append((time.perf_counter() - started) * 1000.0)
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {response.content[:300]!r}")
    return out


def _over_http(
    url: str, token: str, bodies: Sequence[dict[str, Any]], *, threads: int = 2
) -> tuple[list[float], float]:
    import requests

    results: list[list[float]] = [[] for _ in range(threads)]
    errors: list[str] = []

    def work(k: int) -> None:
        session = requests.Session()
        session.headers.update({"Authorization": f"Token {token}", "Content-Type": "application/json"})
        for body in bodies[k::threads]:
            payload = json.dumps(body)
            started = time.perf_counter()
            response = session.post(url, data=payload, timeout=30)
            results[k].append((time.perf_counter() - started) * 1000.0)
            if response.status_code != 200:
                errors.append(f"{response.status_code}: {response.text[:200]}")

    started = time.perf_counter()
    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    seconds = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, first: {errors[0]}")
    return [ms for part in results for ms in part], len(bodies) / seconds


def _start_gunicorn(env: dict[str, str], port: int, log: IO[bytes]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "vcp_platform.wsgi:application",
            "--workers",
            "2",
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/v1/health/ready", timeout=2).status_code == 200:
                return process
        except requests.RequestException:
            pass
        time.sleep(0.3)
    process.terminate()
    raise RuntimeError(f"gunicorn did not become ready; see {log.name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stocks", type=int, default=600)
    parser.add_argument("--requests", type=int, default=3000, help="Cached requests per measurement.")
    parser.add_argument("--uncached", type=int, default=1000, help="Uncached requests per measurement.")
    parser.add_argument("--computed", type=int, default=200, help="Requests computed from bars per measurement.")
    parser.add_argument("--database", default="vcp_bench_api")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    base_url = os.environ.get("DATABASE_URL", "postgres://vcp:vcp@127.0.0.1:5432/vcp")
    if not base_url.startswith(("postgres://", "postgresql://")):
        sys.exit("bench/api_latency.py measures the production path: set DATABASE_URL=postgres://...")
    if not os.environ.get("REDIS_URL"):
        sys.exit("bench/api_latency.py measures the production path: set REDIS_URL=redis://...")
    _recreate_database(base_url, args.database)
    workdir = Path(tempfile.mkdtemp(prefix="vcp-bench-api-"))
    os.environ.update(
        DATABASE_URL=_with_database(base_url, args.database),
        DJANGO_SETTINGS_MODULE="vcp_platform.settings",
        DEBUG="0",
        SECRET_KEY=os.environ.get("SECRET_KEY", "bench-only-not-secret-" + "x" * 40),
        VCP_DATA_DIR=str(workdir),
        VCP_LOG_TO_FILE="1",  # the audit records go to var/logs/audit.log, as in production
        VCP_LOG_DIR=str(workdir / "logs"),
        LOG_LEVEL="WARNING",
        API_THROTTLE_RATE="10000000/min",  # the throttle still runs on every request; it just never says no
        CACHE_KEY_PREFIX=f"vcp-bench-{os.getpid()}",
    )
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import transaction
    from rest_framework.authtoken.models import Token

    from marketdata.models import Instrument
    from marketdata.services import bars_upsert
    from marketdata.synthetic import generate_market
    from predictions.cache import caches_clear_local
    from predictions.models import FeatureSnapshot
    from predictions.services import batch_run_inline

    print(f"Setup: {args.stocks} stocks, a 300-tree depth-6 XGBoost model, 4 dates batch-scored ...", flush=True)
    call_command("migrate", verbosity=0)
    market = generate_market(stocks=args.stocks, days=330, seed=3, end=END)
    with transaction.atomic():
        bars_upsert(frame=market.bars, exchange="NSE")
    booster, _, _ = _train_model(market, sample_stocks=args.stocks, seed=3)
    dates = [d.astype(object) for d in market.dates]
    version = _register_and_promote(booster, start=dates[0], end=dates[-1])
    for day in dates[-4:]:
        batch_run_inline(date=day)
    user = get_user_model().objects.create(username="bench")
    token = Token.objects.create(user=user).key
    snapshot_pairs = [(s, d.isoformat()) for s, d in FeatureSnapshot.objects.values_list("instrument__symbol", "date")]
    traded = {}
    for symbol, day in zip(market.bars["symbol"], market.bars["date"], strict=True):
        traded.setdefault(day.date(), []).append(symbol)
    compute_pairs = [(s, d.isoformat()) for d in dates[-30:-10] for s in traded[d]]
    rng = np.random.default_rng(0)
    rng.shuffle(snapshot_pairs)
    rng.shuffle(compute_pairs)
    hot_symbol = Instrument.objects.filter(bars__date=END).values_list("symbol", flat=True).first()
    print(f"Model {version.label}; {len(snapshot_pairs)} snapshots; audit log {workdir / 'logs' / 'audit.log'}\n")

    def bodies(pairs: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        return [{"symbol": s, "date": d} for s, d in pairs]

    n_unc, n_cmp = args.uncached, args.computed
    in_unc, http_unc = bodies(snapshot_pairs[:n_unc]), bodies(snapshot_pairs[n_unc : 2 * n_unc])
    in_cmp, http_cmp = bodies(compute_pairs[:n_cmp]), bodies(compute_pairs[n_cmp : 2 * n_cmp])
    # Explanations of pairs the uncached runs asked without one: the features are cached, the booster runs.
    in_exp = [{**b, "explain": True} for b in in_unc[: args.computed]]
    http_exp = [{**b, "explain": True} for b in http_unc[: args.computed]]
    if len(http_unc) < n_unc or len(http_cmp) < n_cmp:
        sys.exit("not enough distinct (symbol, date) pairs: raise --stocks or lower --uncached/--computed")

    rows: list[tuple[str, str, list[float], float | None]] = []

    def run(label: str, where: str, fn: Callable[[], Any]) -> None:
        result = fn()
        ms, rate = result if isinstance(result, tuple) else (result, None)
        rows.append((label, where, ms, rate))
        extra = f"  {rate:7.0f} req/s" if rate else ""
        print(f"{where:<10} {label:<30} {_percentiles(ms)}{extra}", flush=True)

    # The batch warmed the shared tier with its predictions: drop them, so "uncached" misses both tiers.
    from features import spec
    from predictions.cache import prediction_key
    from predictions.models import Prediction

    warmed = [
        prediction_key(
            version_id=version.pk, feature_set_hash=spec.FEATURE_SET_HASH, instrument_id=i, date=d, explain=False
        )
        for i, d in Prediction.objects.values_list("instrument_id", "date")
    ]
    cache.delete_many(warmed)
    caches_clear_local()

    # In-process: Django's test client through the full middleware stack, one request at a time.
    _in_process(token, [{"symbol": hot_symbol}] * 50)  # warm: model load, token cache, lookups
    run("cached", "in-process", lambda: _in_process(token, [{"symbol": hot_symbol}] * args.requests))
    run("uncached (snapshot)", "in-process", lambda: _in_process(token, in_unc))
    run("uncached (computed from bars)", "in-process", lambda: _in_process(token, in_cmp))
    run("explain (features cached)", "in-process", lambda: _in_process(token, in_exp))

    # Over HTTP: gunicorn, 2 sync workers, started fresh (empty in-process tiers).
    from django.db import connections

    connections.close_all()
    port = _free_port()
    env = {**os.environ}
    log = open(workdir / "gunicorn.log", "wb")  # noqa: SIM115 - open for the server's lifetime, closed below
    server = _start_gunicorn(env, port, log)
    url = f"http://127.0.0.1:{port}/api/v1/predict"
    try:
        _over_http(url, token, [{"symbol": hot_symbol}] * 200)  # both workers load the model and warm up
        run("cached", "http", lambda: _over_http(url, token, [{"symbol": hot_symbol}] * args.requests))
        run("uncached (snapshot)", "http", lambda: _over_http(url, token, http_unc))
        run("uncached (computed from bars)", "http", lambda: _over_http(url, token, http_cmp))
        run("explain (features cached)", "http", lambda: _over_http(url, token, http_exp))
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

    print("\nTargets: p95 < 10 ms cached, < 30 ms uncached (the bars fallback and explanations have none).")
    targets = {"cached": 10.0, "uncached (snapshot)": 30.0}
    for label, where, ms, _ in rows:
        p95 = float(np.percentile(ms, 95))
        target = targets.get(label)
        verdict = "(no target)" if target is None else f"{'OK' if p95 < target else 'MISSED'} (< {target:.0f})"
        print(f"  {where:<10} {label:<30} p95 {p95:6.2f} ms  {verdict}")
    if not args.keep:
        _drop_database(base_url, args.database)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
