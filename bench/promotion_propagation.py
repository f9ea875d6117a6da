"""How long a promotion takes to reach every gunicorn worker of `make serve`, and how many requests fail.

Needs `make serve` running (with Redis, or `SERVE_REDIS=0 make serve` without); it reads the
topology's environment from var/serve/env.sh. Clients call /api/v1/predict directly on each gunicorn
instance (2 workers each: 2 concurrent clients per instance keep both workers busy) and through nginx,
while another process promotes the other version with `manage.py promote_model`. The figure is the
time from the promotion's commit to the last answer any worker gave from the old version.
It promotes back and forth ROUNDS times and prints each round and the worst. Without `make serve`
running it says so and exits 0 (`make bench` runs every script here).

    python bench/promotion_propagation.py [--rounds 3] [--state var/serve]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def _serve_env(state: Path) -> dict[str, str] | None:
    path = state / "env.sh"
    if not path.is_file():
        return None
    env = dict(os.environ)
    for line in path.read_text().splitlines():
        match = re.match(r"export ([A-Z_0-9]+)=(.*)$", line)
        if match:
            env[match.group(1)] = shlex.split(match.group(2))[0] if match.group(2) else ""
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        if f"export {name}=" not in path.read_text():
            env.pop(name, None)
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return result.stdout


def _versions(env: dict[str, str]) -> tuple[int | None, list[int]]:
    code = (
        "import django, json; django.setup(); from modelregistry.models import ModelVersion as M; "
        "rows = list(M.objects.filter(name='upper-circuit').values_list('pk', 'version', 'status')); "
        "print(json.dumps(rows))"
    )
    rows = json.loads(
        subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
        ).stdout.splitlines()[-1]
    )
    production = next((pk for pk, _, status in rows if status == "production"), None)
    return production, [pk for pk, _, status in rows if status != "production"]


def _committed_at(env: dict[str, str]) -> float:
    code = (
        "import django; django.setup(); from modelregistry.models import PromotionEvent as E; "
        "print(E.objects.filter(action='promote').latest('created_at').created_at.timestamp())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return float(out.stdout.split()[-1])


def _token(env: dict[str, str]) -> tuple[str, str]:
    out = _manage(env, "demo_user", "--username", "bench")
    token = re.search(r"API token:\s+(\w+)", out)
    assert token is not None, out
    symbol_code = (
        "import django; django.setup(); from predictions.models import Prediction as P; "
        "print(P.objects.order_by('-date', 'rank').values_list('instrument__symbol', flat=True).first())"
    )
    symbol = subprocess.run(
        [sys.executable, "-c", symbol_code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()[-1]
    return token.group(1), symbol


class Client(threading.Thread):
    def __init__(self, url: str, token: str, symbol: str) -> None:
        super().__init__(daemon=True)
        self.url, self.symbol = url, symbol
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"
        self.replies: list[tuple[float, int, int | None]] = []  # (time.time(), status, model version)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                response = self.session.post(self.url, json={"symbol": self.symbol}, timeout=10)
                version = (response.json().get("model") or {}).get("version") if response.ok else None
                self.replies.append((time.time(), response.status_code, version))
            except (requests.RequestException, ValueError):
                self.replies.append((time.time(), 0, None))
            # 10 calls a second per client: all clients together stay under the token's 6,000/min throttle.
            time.sleep(0.1)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--state", type=Path, default=ROOT / "var" / "serve")
    args = parser.parse_args()
    env = _serve_env(args.state)
    if env is None or not (args.state / "gunicorn-1.pid").is_file():
        print("make serve is not running (no var/serve/env.sh or gunicorn pid): nothing to measure")
        return 0
    redis = "with Redis" if env.get("REDIS_URL") else "without Redis (database pointer)"
    token, symbol = _token(env)
    production, others = _versions(env)
    if production is None or not others:
        print("needs a production version and another one to promote (make serve trains two)")
        return 0
    ports = [env.get("SERVE_WEB_PORT_1", "8101"), env.get("SERVE_WEB_PORT_2", "8102")]
    urls = [f"http://127.0.0.1:{p}/api/v1/predict" for p in ports for _ in range(2)]
    urls.append(f"http://127.0.0.1:{env.get('SERVE_HTTP_PORT', '8080')}/api/v1/predict")
    clients = [Client(url, token, symbol) for url in urls]
    for client in clients:
        client.start()
    results = []
    try:
        time.sleep(1.0)
        targets = [others[0], production]
        for round_ in range(args.rounds):
            target = targets[round_ % 2]
            code = (
                "import django, json; django.setup(); from modelregistry.models import ModelVersion as M; "
                f"print(M.objects.get(pk={target}).version)"
            )
            version = int(
                subprocess.run(
                    [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
                ).stdout.split()[-1]
            )
            _manage(env, "promote_model", "--model-version", str(target), "--reason", "bench", "--actor", "bench")
            committed = _committed_at(env)  # the audit row's time: the command itself takes ~2 s to exit
            deadline = committed + 30
            while time.time() < deadline:
                time.sleep(0.1)
                now = time.time()
                settled = all(
                    (recent := [r for r in c.replies if r[0] > now - 1.0]) and all(r[2] == version for r in recent)
                    for c in clients
                )
                if settled:
                    break
            # Settled: the last answer from the old version (any worker), or the first from the new one.
            marks = []
            for c in clients:
                after = [r for r in c.replies if r[0] > committed]
                new = [r[0] for r in after if r[2] == version]
                old = [r[0] for r in after if r[2] is not None and r[2] != version]
                marks.append(max([*old, min(new) if new else float("inf")]) - committed)
            results.append(max(marks))
            print(f"round {round_ + 1}: v{version} served by every worker {max(marks):.2f} s after the commit")
            time.sleep(1.5)
    finally:
        for client in clients:
            client.stop.set()
        for client in clients:
            client.join(timeout=15)
    replies = [r for c in clients for r in c.replies]
    failed = sum(1 for r in replies if r[1] != 200)
    statuses: dict[int, int] = {}
    for r in replies:
        statuses[r[1]] = statuses.get(r[1], 0) + 1
    print(
        json.dumps(
            {
                "topology": f"make serve, {redis}",
                "rounds": args.rounds,
                "worst_seconds_to_every_worker": round(max(results), 2),
                "requests": len(replies),
                "failed": failed,
                "statuses": statuses,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
