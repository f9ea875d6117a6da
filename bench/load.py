"""Load test of the running API (``make serve``): open loop at a fixed rate, or closed loop flat out.

Open loop (``--mode open --rate 500``): request i is due at ``start + i / rate`` whether or not the
server kept up, and its latency counts from that due time, so a stalled server shows up as latency
(no coordinated omission) instead of quietly lowering the rate. Closed loop (``--mode closed
--connections 16``): each connection sends its next request when the last one answered; this
measures the maximum throughput. ``--batch-clients 2`` adds clients that send 1,000-item
/batch_predict calls back to back for the whole run (the "big request must not starve /predict" check).

Symbols come from the day's ranked predictions (every page of /api/v1/predictions) and are drawn
from a Zipf law (bench/mix.py). Each run appends one CSV row per call kind: p50/p95/p99/max latency,
throughput, errors, the prediction-cache hit rate (``served_from == "cache"`` in the answers), the
machine's CPU use (/proc/stat), the generator's own CPU and the load average before and after. The
generator runs on the same machine as the server, so it competes with it for the cores.

    VCP_API_TOKEN=... .venv/bin/python bench/load.py --url http://127.0.0.1:8080 --mode closed --duration 30
    VCP_API_TOKEN=... .venv/bin/python bench/load.py --mode open --rate 500 --duration 60 --csv var/bench/load.csv
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import glob
import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gevent
import numpy as np
from gevent.pool import Pool
from geventhttpclient import HTTPClient

from bench.mix import Call, mix_sampler

BATCH_ITEMS = 1000


@dataclass
class Sample:
    name: str
    ms: float
    ok: bool
    cache_hits: int = 0
    predictions: int = 0


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def _cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as fh:
        values = [float(v) for v in fh.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def _client(url: str, token: str, connections: int) -> HTTPClient:
    parts = urlsplit(url)
    return HTTPClient(
        parts.hostname or "127.0.0.1",
        parts.port or 80,
        concurrency=connections,
        connection_timeout=10,
        network_timeout=120,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )


def symbols_of_the_day(url: str, token: str) -> list[str]:
    """Every symbol of the latest ranked predictions, rank order (rank 1 first)."""
    client = _client(url, token, 1)
    out: list[str] = []
    page = 1
    while True:
        response = client.get(f"/api/v1/predictions?page_size=500&page={page}")
        body = json.loads(response.read())
        if response.status_code != 200:
            raise SystemExit(f"/api/v1/predictions answered {response.status_code}: {body}")
        out.extend(row["symbol"] for row in body["results"])
        if not body.get("next"):
            break
        page += 1
    client.close()
    return out


def _latest_date(url: str, token: str) -> dt.date:
    client = _client(url, token, 1)
    body = json.loads(client.get("/api/v1/predictions?page_size=1").read())
    client.close()
    return dt.date.fromisoformat(body["results"][0]["date"])


def _send(client: HTTPClient, call: Call, due: float, run: Run) -> None:
    try:
        payload = json.dumps(call.body) if call.body is not None else None
        response = client.post(call.path, body=payload) if call.method == "POST" else client.get(call.path)
        raw = response.read()
        ms = (time.perf_counter() - due) * 1000.0
        ok = response.status_code == 200
        hits = predictions = 0
        if ok and call.path.endswith("/predict"):
            predictions, hits = 1, int(b'"served_from":"cache"' in raw.replace(b" ", b""))
        elif ok and call.path.endswith("/batch_predict"):
            results = json.loads(raw)["results"]
            served = [r["prediction"]["served_from"] for r in results if "prediction" in r]
            predictions, hits = len(served), served.count("cache")
        if not ok:
            run.errors[f"{call.name} {response.status_code}"] += 1
        run.samples.append(Sample(call.name, ms, ok, hits, predictions))
    except Exception as exc:  # a refused or timed-out connection is an error of the run, not of the script
        run.errors[f"{call.name} {type(exc).__name__}"] += 1
        run.samples.append(Sample(call.name, (time.perf_counter() - due) * 1000.0, False))


def _open_loop(client: HTTPClient, next_call: Callable[[], Call], *, rate: float, seconds: float, run: Run) -> None:
    pool = Pool(None)
    start = time.perf_counter() + 0.1
    total = int(rate * seconds)
    for i in range(total):
        due = start + i / rate
        wait = due - time.perf_counter()
        if wait > 0:
            gevent.sleep(wait)
        pool.spawn(_send, client, next_call(), due, run)
    pool.join(timeout=120)


def _closed_loop(
    client: HTTPClient, next_call: Callable[[], Call], *, connections: int, seconds: float, run: Run
) -> None:
    deadline = time.perf_counter() + seconds

    def loop() -> None:
        while time.perf_counter() < deadline:
            _send(client, next_call(), time.perf_counter(), run)

    gevent.joinall([gevent.spawn(loop) for _ in range(connections)])


def _weekdays_back(latest: dt.date, count: int) -> list[dt.date]:
    days: list[dt.date] = []
    day = latest
    while len(days) < count:
        day -= dt.timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    return days


def _batch_clients(
    url: str, token: str, symbols: list[str], *, clients: int, seconds: float, run: Run, dates: list[dt.date]
) -> list[Any]:
    import random

    deadline = time.perf_counter() + seconds
    rng = random.Random(42)
    sent = [0]

    def loop() -> None:
        client = _client(url, token, 1)
        while time.perf_counter() < deadline:
            items: list[dict[str, Any]] = [{"symbol": s} for s in rng.sample(symbols, min(BATCH_ITEMS, len(symbols)))]
            name = "batch_predict_1000"
            if dates:
                day = dates[sent[0] % len(dates)].isoformat()
                items = [{**item, "date": day} for item in items]
                name = "batch_predict_1000_computed"
            sent[0] += 1
            _send(client, Call(name, "POST", "/api/v1/batch_predict", {"items": items}), time.perf_counter(), run)
        client.close()

    return [gevent.spawn(loop) for _ in range(clients)]


def _timeouts(pattern: str | None) -> dict[str, int]:
    """Lines saying WORKER TIMEOUT in each server log matching ``pattern`` (counted before and after)."""
    if not pattern:
        return {}
    return {path: Path(path).read_text(errors="replace").count("WORKER TIMEOUT") for path in glob.glob(pattern)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("VCP_BENCH_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--token", default=os.environ.get("VCP_API_TOKEN", ""))
    parser.add_argument("--mode", choices=["open", "closed"], default="open")
    parser.add_argument("--rate", type=float, default=500.0, help="Open loop: requests per second.")
    parser.add_argument("--duration", type=float, default=60.0, help="Seconds of load.")
    parser.add_argument("--connections", type=int, default=32, help="Connections (closed loop: concurrent clients).")
    parser.add_argument("--mix", choices=["predict", "desk", "list500"], default="predict")
    parser.add_argument(
        "--engine",
        choices=["python", "wrk"],
        default="python",
        help="Closed-loop /predict only: 'wrk' drives the same Zipf draw with wrk (C, Debian's wrk package), "
        "whose CPU per request is a fraction of this script's on the shared cores.",
    )
    parser.add_argument("--batch-clients", type=int, default=0, help="Clients sending 1,000-item batches meanwhile.")
    parser.add_argument("--batch-url", help="Send the batches here instead of --url (e.g. one gunicorn directly).")
    parser.add_argument(
        "--batch-dates",
        type=int,
        default=0,
        help="Batch items ask for earlier weekdays (the k-th batch k weekdays back), whose features the nightly "
        "batch did not store: each batch computes from the bars. 0: the latest date (cached).",
    )
    parser.add_argument("--warmup", type=float, default=5.0, help="Seconds of closed-loop warm-up, not recorded.")
    parser.add_argument("--min-symbols", type=int, default=10_000)
    parser.add_argument("--symbols-from", help="Read the symbols from this server instead (same database).")
    parser.add_argument("--server-logs", help="Glob of gunicorn logs to count WORKER TIMEOUT lines in.")
    parser.add_argument("--csv", type=Path, default=Path("var/bench/load.csv"))
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    if not args.token:
        # `make bench` runs every script here; this one needs a server, so it says so and passes.
        print("bench/load.py: skipped: start `make serve`, then set VCP_API_TOKEN (manage.py demo_user prints one)")
        return

    symbols = symbols_of_the_day(args.symbols_from or args.url, args.token)
    if len(symbols) < args.min_symbols:
        sys.exit(f"only {len(symbols)} symbols in the day's predictions; the load test wants >= {args.min_symbols}")
    next_call = mix_sampler(symbols, mix=args.mix)
    if args.engine == "wrk":
        _emit(args, symbols, [_wrk_closed(args, next_call, symbols=len(symbols))], errors={})
        return
    client = _client(args.url, args.token, args.connections)
    if args.warmup:
        _closed_loop(client, next_call, connections=min(args.connections, 8), seconds=args.warmup, run=Run())

    run, batch_run = Run(), Run()
    timeouts_before = _timeouts(args.server_logs)
    load_before = os.getloadavg()
    cpu_before, own_before = _cpu_times(), os.times()
    started = time.perf_counter()
    dates: list[dt.date] = []
    if args.batch_dates:
        latest = _latest_date(args.symbols_from or args.url, args.token)
        dates = _weekdays_back(latest, args.batch_dates)
    batchers = _batch_clients(
        args.batch_url or args.url,
        args.token,
        symbols,
        clients=args.batch_clients,
        seconds=args.duration,
        run=batch_run,
        dates=dates,
    )
    if args.mode == "open":
        _open_loop(client, next_call, rate=args.rate, seconds=args.duration, run=run)
    else:
        _closed_loop(client, next_call, connections=args.connections, seconds=args.duration, run=run)
    elapsed = time.perf_counter() - started
    gevent.joinall(batchers, timeout=180)
    cpu_after, own_after = _cpu_times(), os.times()
    load_after = os.getloadavg()
    timeouts = sum(_timeouts(args.server_logs).values()) - sum(timeouts_before.values())
    busy = (cpu_after[0] - cpu_before[0]) / max(cpu_after[1] - cpu_before[1], 1.0)
    own = (own_after.user + own_after.system - own_before.user - own_before.system) / elapsed

    by_name: dict[str, list[Sample]] = defaultdict(list)
    for sample in [*run.samples, *batch_run.samples]:
        by_name[sample.name].append(sample)
    rows = []
    for name, samples in sorted(by_name.items()):
        ms = np.array([s.ms for s in samples])
        p50, p95, p99 = np.percentile(ms, [50, 95, 99])
        predictions = sum(s.predictions for s in samples)
        rows.append(
            {
                "when": dt.datetime.now().isoformat(timespec="seconds"),
                "label": args.label,
                "mode": args.mode,
                "mix": args.mix,
                "call": name,
                "target_rate": args.rate if args.mode == "open" else "",
                "connections": args.connections,
                "batch_clients": args.batch_clients,
                "seconds": round(elapsed, 1),
                "requests": len(samples),
                "throughput_rps": round(len(samples) / elapsed, 1),
                "p50_ms": round(float(p50), 2),
                "p95_ms": round(float(p95), 2),
                "p99_ms": round(float(p99), 2),
                "max_ms": round(float(ms.max()), 2),
                "errors": sum(not s.ok for s in samples),
                "cache_hit_rate": round(sum(s.cache_hits for s in samples) / predictions, 4) if predictions else "",
                "machine_cpu_pct": round(100 * busy, 1),
                "generator_cpu_pct": round(100 * own, 1),
                "load1_before": round(load_before[0], 2),
                "load1_after": round(load_after[0], 2),
                "worker_timeouts": timeouts if args.server_logs else "",
                "symbols": len(symbols),
            }
        )
    _emit(args, symbols, rows, errors={**run.errors, **batch_run.errors})


def _emit(args: argparse.Namespace, symbols: list[str], rows: list[dict[str, Any]], *, errors: dict[str, int]) -> None:
    """Append the rows to the CSV and print them."""
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    new = not args.csv.exists()
    with args.csv.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        if new:
            writer.writeheader()
        writer.writerows(rows)
    first = rows[0]
    print(
        f"{args.mode} loop ({args.engine}), mix {args.mix}, {len(symbols)} symbols, {first['seconds']} s; "
        f"load {first['load1_before']} -> {first['load1_after']}"
    )
    print(
        f"machine CPU {first['machine_cpu_pct']}%, generator CPU {first['generator_cpu_pct']}% of one core; "
        f"worker timeouts: {first['worker_timeouts']}"
    )
    header = f"{'call':<20}{'requests':>9}{'req/s':>9}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>9}{'errors':>8}{'hit':>8}"
    print(header)
    for r in rows:
        print(
            f"{r['call']:<20}{r['requests']:>9}{r['throughput_rps']:>9}{r['p50_ms']:>8}{r['p95_ms']:>8}"
            f"{r['p99_ms']:>8}{r['max_ms']:>9}{r['errors']:>8}{r['cache_hit_rate']!s:>8}"
        )
    for kind, count in sorted(errors.items()):
        print(f"  error {kind}: {count}")
    print(f"appended to {args.csv}")


def _wrk_closed(args: argparse.Namespace, next_call: Callable[[], Call], *, symbols: int) -> dict[str, Any]:
    """One closed-loop /predict run through wrk: the same Zipf draw, written to a file wrk replays."""
    import resource
    import shutil
    import subprocess
    import tempfile

    if args.mode != "closed" or args.mix != "predict" or args.batch_clients:
        sys.exit("--engine wrk runs the closed-loop /predict mix only (--mode closed --mix predict, no batch clients)")
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("--engine wrk needs wrk on PATH: apt-get install wrk")
    script = Path(__file__).resolve().parent / "wrk" / "predict.lua"
    with tempfile.TemporaryDirectory() as tmp:
        bodies = Path(tmp) / "bodies.jsonl"
        with bodies.open("w") as fh:
            for _ in range(200_000):  # far more than one run sends at one connection's pace
                fh.write(json.dumps(next_call().body) + "\n")

        def run(seconds: float) -> str:
            command = [wrk, "-t1", f"-c{args.connections}", f"-d{max(seconds, 1):.0f}s", "-s", str(script), args.url]
            done = subprocess.run([*command, "--", str(bodies), args.token], capture_output=True, text=True, check=True)
            return done.stdout

        if args.warmup:
            run(args.warmup)
        timeouts_before = _timeouts(args.server_logs)
        load_before = os.getloadavg()
        cpu_before, own_before = _cpu_times(), resource.getrusage(resource.RUSAGE_CHILDREN)
        output = run(args.duration)
        cpu_after, own_after = _cpu_times(), resource.getrusage(resource.RUSAGE_CHILDREN)
        load_after = os.getloadavg()
    line = next((row for row in output.splitlines() if row.startswith("VCPRESULT ")), None)
    if line is None:
        sys.exit(f"wrk printed no result line:\n{output}")
    got = {key: float(value) for key, value in (item.split("=") for item in line.split()[1:])}
    seconds = got["duration_us"] / 1e6
    busy = (cpu_after[0] - cpu_before[0]) / max(cpu_after[1] - cpu_before[1], 1.0)
    own = (own_after.ru_utime + own_after.ru_stime - own_before.ru_utime - own_before.ru_stime) / seconds
    return {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "label": args.label,
        "mode": "closed",
        "mix": args.mix,
        "call": "predict",
        "target_rate": "",
        "connections": args.connections,
        "batch_clients": 0,
        "seconds": round(seconds, 1),
        "requests": int(got["requests"]),
        "throughput_rps": round(got["requests"] / seconds, 1),
        "p50_ms": round(got["p50"], 2),
        "p95_ms": round(got["p95"], 2),
        "p99_ms": round(got["p99"], 2),
        "max_ms": round(got["max"], 2),
        "errors": int(got["errors"]),
        "cache_hit_rate": round(got["hits"] / got["answered"], 4) if got["answered"] else "",
        "machine_cpu_pct": round(100 * busy, 1),
        "generator_cpu_pct": round(100 * own, 1),
        "load1_before": round(load_before[0], 2),
        "load1_after": round(load_after[0], 2),
        "worker_timeouts": sum(_timeouts(args.server_logs).values()) - sum(timeouts_before.values())
        if args.server_logs
        else "",
        "symbols": symbols,
    }


if __name__ == "__main__":
    main()
