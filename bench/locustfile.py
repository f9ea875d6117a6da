"""Load test of the prediction API with Locust: the desk's morning mix of calls.

Each simulated client mostly asks /predict for one of the day's ranked candidates (so most answers
come from the caches), sometimes for a stock the cache has not seen, sometimes a /batch_predict of
50 symbols, and reads a page of /predictions.

Run against a server (``make serve``, or gunicorn as in bench/api_latency.py), with a token from
``manage.py demo_user``:

    VCP_API_TOKEN=... .venv/bin/locust -f bench/locustfile.py --host http://127.0.0.1:8000 \\
        --headless --users 20 --spawn-rate 5 --run-time 60s

Set API_THROTTLE_RATE on the server above the load, or the throttle answers 429 (which Locust
counts as failures, correctly).
"""

from __future__ import annotations

import os
import random

from locust import HttpUser, between, events, task
from locust.env import Environment

TOKEN = os.environ.get("VCP_API_TOKEN", "")
SYMBOLS: list[str] = []


@events.test_start.add_listener
def _load_symbols(environment: Environment, **_: object) -> None:
    """The day's ranked symbols, read once from the API itself."""
    import requests

    if not TOKEN:
        raise SystemExit("set VCP_API_TOKEN (python manage.py demo_user prints one)")
    response = requests.get(
        f"{environment.host}/api/v1/predictions",
        params={"page_size": 500},
        headers={"Authorization": f"Token {TOKEN}"},
        timeout=30,
    )
    response.raise_for_status()
    SYMBOLS.extend(row["symbol"] for row in response.json()["results"])
    if not SYMBOLS:
        raise SystemExit("no predictions to load-test against: run manage.py score_universe first")


class DeskUser(HttpUser):
    wait_time = between(0.05, 0.2)

    def on_start(self) -> None:
        self.client.headers.update({"Authorization": f"Token {TOKEN}"})

    @task(20)
    def predict_top_candidate(self) -> None:
        self.client.post("/api/v1/predict", json={"symbol": random.choice(SYMBOLS[:20])}, name="predict (hot)")

    @task(5)
    def predict_any(self) -> None:
        self.client.post("/api/v1/predict", json={"symbol": random.choice(SYMBOLS)}, name="predict (any)")

    @task(1)
    def predict_explained(self) -> None:
        self.client.post(
            "/api/v1/predict", json={"symbol": random.choice(SYMBOLS), "explain": True}, name="predict (explain)"
        )

    @task(1)
    def batch_predict(self) -> None:
        items = [{"symbol": s} for s in random.sample(SYMBOLS, min(50, len(SYMBOLS)))]
        self.client.post("/api/v1/batch_predict", json={"items": items}, name="batch_predict (50)")

    @task(2)
    def ranked_list(self) -> None:
        self.client.get("/api/v1/predictions", params={"page_size": 50}, name="predictions (page)")
