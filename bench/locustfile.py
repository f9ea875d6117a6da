"""Load test of the prediction API with Locust: the desk's morning mix of calls.

Each simulated client mostly asks /predict for a symbol drawn from a Zipf law over ALL the day's
ranked candidates (rank 1 most often; bench/mix.py, shared with the open-loop bench/load.py), now
and then with an explanation, sometimes a /batch_predict of 50 symbols, and reads a page of
/predictions. ``FastHttpUser`` (geventhttpclient) costs a fraction of ``HttpUser``'s CPU, which
matters with the generator on the same cores as the server.

Run against a server (``make serve``, or gunicorn as in bench/api_latency.py), with a token from
``manage.py demo_user``:

    VCP_API_TOKEN=... .venv/bin/locust -f bench/locustfile.py --host http://127.0.0.1:8000 \\
        --headless --users 20 --spawn-rate 5 --run-time 60s

Set API_THROTTLE_RATE on the server above the load, or the throttle answers 429 (which Locust
counts as failures, correctly).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from locust import FastHttpUser, between, events, task
from locust.env import Environment

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.mix import DESK_WEIGHTS, zipf_sampler

TOKEN = os.environ.get("VCP_API_TOKEN", "")
SYMBOLS: list[str] = []
_draw: list[object] = []  # the Zipf sampler, built once the symbols are known


@events.test_start.add_listener
def _load_symbols(environment: Environment, **_: object) -> None:
    """Every symbol of the day's ranked predictions, read once from the API itself (rank order)."""
    from bench.load import symbols_of_the_day

    if not TOKEN:
        raise SystemExit("set VCP_API_TOKEN (python manage.py demo_user prints one)")
    SYMBOLS.extend(symbols_of_the_day(str(environment.host), TOKEN))
    if not SYMBOLS:
        raise SystemExit("no predictions to load-test against: run manage.py score_universe first")
    _draw.append(zipf_sampler(SYMBOLS))


def _symbol() -> str:
    return _draw[0]()  # type: ignore[operator, no-any-return]


class DeskUser(FastHttpUser):
    wait_time = between(0.05, 0.2)
    default_headers = {"Authorization": f"Token {TOKEN}"}

    @task(DESK_WEIGHTS["predict"])
    def predict(self) -> None:
        self.client.post("/api/v1/predict", json={"symbol": _symbol()}, name="predict (zipf)")

    @task(DESK_WEIGHTS["predict_explain"])
    def predict_explained(self) -> None:
        self.client.post("/api/v1/predict", json={"symbol": _symbol(), "explain": True}, name="predict (explain)")

    @task(DESK_WEIGHTS["batch_predict_50"])
    def batch_predict(self) -> None:
        items = [{"symbol": _symbol()} for _ in range(50)]
        self.client.post("/api/v1/batch_predict", json={"items": items}, name="batch_predict (50)")

    @task(DESK_WEIGHTS["predictions_page"])
    def ranked_list(self) -> None:
        self.client.get("/api/v1/predictions", params={"page_size": 50}, name="predictions (page)")
