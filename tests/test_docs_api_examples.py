"""Every API example in docs/examples/api/ runs against a live server on demo-like data.

The docs include these files verbatim (pymdownx.snippets), so a stale example fails here, not in a
reader's terminal. The market is `make demo`'s (generate_market seed 7: the same symbols), cut to a
few dozen stocks and 330 sessions to load quickly; the model is a small real booster. Each error
example's body is compared with the committed `errors/<status>-<code>.json` the docs show (dates
masked: the demo market ends yesterday). After a deliberate change to an error, rewrite those
bodies with VCP_RECORD_EXAMPLES=1 and review the diff.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from common.api.errors import RETRY_AFTER_SECONDS, error_body, service_unavailable_body
from common.api.throttling import TokenRateThrottle
from marketdata.services import bars_upsert
from marketdata.synthetic import generate_market
from modelregistry.models import ModelVersion
from predictions.services import batch_run_inline
from tests.conftest import promote, reset_serving_state
from tests.factories import register_version

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples" / "api"
ERRORS = EXAMPLES / "errors"
# The symbols the examples name; they must trade on the demo market's last day.
EXAMPLE_SYMBOLS = ("ARVIIND", "ANRIPOWER")
DEMO_SEED, DEMO_STOCKS = 7, 300  # the Makefile's DEMO_SEED and DEMO_STOCKS
PASSWORD = "docs-example-password-1"  # a throwaway test user's
NODE = shutil.which("node")
# Errors the live server cannot show without breaking the other examples: checked in-process instead.
IN_PROCESS = {"429-throttled", "503-service_unavailable", "500-internal_error"}
# Errors shown while no model is in production; every other example runs after the promotion.
BEFORE_PROMOTION = {"503-model_unavailable", "503-not_ready"}

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _load_demo_like_market(stocks: int = 40) -> dt.date:
    market = generate_market(stocks=DEMO_STOCKS, days=330, seed=DEMO_SEED, end=dt.date(2024, 8, 2))
    symbols = sorted(market.bars["symbol"].unique())
    assert set(EXAMPLE_SYMBOLS) <= set(symbols), "the demo market no longer has the examples' symbols"
    keep = set(EXAMPLE_SYMBOLS) | set(symbols[:stocks])
    bars = market.bars[market.bars["symbol"].isin(keep)].copy()
    bars_upsert(frame=bars, exchange="NSE")
    last = bars["date"].max()
    on_last = set(bars.loc[bars["date"] == last, "symbol"])
    assert set(EXAMPLE_SYMBOLS) <= on_last, f"an example symbol has no bar on {last.date()}"
    return last.date()


def _run(path: Path, env: dict[str, str]) -> str:
    if path.suffix == ".sh":
        command = ["bash", str(path)]
    elif path.suffix == ".py":
        command = [sys.executable, str(path)]
    else:
        assert NODE is not None
        command = [NODE, str(path)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"{path.name} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _masked(value: Any) -> Any:
    """The body with dates masked: the demo's dates move with the day it was built."""
    return json.loads(re.sub(r"\d{4}-\d{2}-\d{2}", "YYYY-MM-DD", json.dumps(value)))


def _check_error_example(name: str, env: dict[str, str]) -> None:
    output = _run(ERRORS / f"{name}.sh", env).rstrip("\n")
    body_text, _, status = output.rpartition("\n")
    assert status == name.split("-", 1)[0], f"{name}: HTTP {status}: {body_text}"
    if os.environ.get("VCP_RECORD_EXAMPLES") == "1":  # rewrite the golden bodies after a deliberate change
        (ERRORS / f"{name}.json").write_text(json.dumps(json.loads(body_text), indent=2) + "\n")
    expected = json.loads((ERRORS / f"{name}.json").read_text())
    assert _masked(json.loads(body_text)) == _masked(expected), f"{name}: the docs show a stale body"


def _example_names(suffix: str) -> list[Path]:
    return sorted(EXAMPLES.glob(f"*{suffix}"))


def test_every_endpoint_has_an_example_in_each_language_and_every_error_its_body() -> None:
    stems = {path.stem for path in EXAMPLES.iterdir() if path.is_file()}
    assert stems >= {"health", "predict", "batch_predict", "ranked_list", "model_versions", "session"}
    for stem in stems:
        for suffix in (".sh", ".py", ".mjs"):
            assert (EXAMPLES / f"{stem}{suffix}").is_file(), f"{stem} has no {suffix} example"
    scripts = {path.stem for path in ERRORS.glob("*.sh")}
    bodies = {path.stem for path in ERRORS.glob("*.json")}
    assert bodies == scripts | IN_PROCESS


def _serve_demo_like_market(live_server: Any) -> dict[str, str]:
    """The demo's market, a staff user with a token, and the 503 examples shown before a promotion;
    then the version promoted and the last day scored. The environment the examples read."""
    reset_serving_state()
    last = _load_demo_like_market()
    user = get_user_model().objects.create_user(username="desk", password=PASSWORD, is_staff=True)
    token = Token.objects.create(user=user).key
    candidate = register_version(seed=1)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))},
        "VCP_URL": live_server.url,
        "VCP_TOKEN": token,
        "VCP_USER": "desk",
        "VCP_PASSWORD": PASSWORD,
        "VCP_MODEL_ID": str(candidate.pk),
    }
    for name in sorted(BEFORE_PROMOTION):
        _check_error_example(name, env)
    promote(candidate)
    assert batch_run_inline(date=last).scored > 0
    return env


def test_every_curl_and_python_example_runs_against_a_live_server(live_server: Any) -> None:
    env = _serve_demo_like_market(live_server)
    for path in _example_names(".sh") + _example_names(".py"):
        assert _run(path, env).strip(), f"{path.name} printed nothing"
    assert "ARVIIND" in _run(EXAMPLES / "predict.sh", env)
    batch = json.loads(_run(EXAMPLES / "batch_predict.sh", env))
    assert (batch["succeeded"], batch["failed"]) == (2, 1)
    assert batch["results"][2]["error"]["code"] == "unknown_symbol"
    for path in sorted(ERRORS.glob("*.sh")):
        if path.stem not in BEFORE_PROMOTION:
            _check_error_example(path.stem, env)


@pytest.mark.skipif(
    NODE is None, reason="node is not installed (apt-get install nodejs): the JavaScript examples did not run"
)
def test_every_javascript_example_runs_against_a_live_server(live_server: Any) -> None:
    env = _serve_demo_like_market(live_server)
    for path in _example_names(".mjs"):
        assert _run(path, env).strip(), f"{path.name} printed nothing"


def test_the_errors_no_live_server_shows_have_the_bodies_the_docs_show(
    production: ModelVersion, fresh_serving_state: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def documented(name: str) -> dict[str, Any]:
        body: dict[str, Any] = json.loads((ERRORS / f"{name}.json").read_text())
        return body

    assert documented("503-service_unavailable") == service_unavailable_body()
    assert documented("503-service_unavailable")["error"]["details"]["retry_after_seconds"] == RETRY_AFTER_SECONDS
    assert documented("500-internal_error") == error_body(
        "internal_error", "An internal error occurred; quote the X-Request-ID when reporting it."
    )

    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "1/min"})
    user = get_user_model().objects.create(username="throttled")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    assert client.get("/api/v1/models").status_code == 200
    response = client.get("/api/v1/models")
    assert response.status_code == 429
    body = response.json()
    assert 0 < body["error"]["details"]["retry_after_seconds"] <= 60
    expected = documented("429-throttled")
    # The seconds left in the window vary with the moment of the call.
    body["error"]["details"]["retry_after_seconds"] = expected["error"]["details"]["retry_after_seconds"]
    body["error"]["message"] = re.sub(r"\d+ seconds", "N seconds", body["error"]["message"])
    expected["error"]["message"] = re.sub(r"\d+ seconds", "N seconds", expected["error"]["message"])
    assert body == expected
