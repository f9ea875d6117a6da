"""Hot reload: another process promotes a version while clients call /predict on a live server."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import LazySettings
from django.contrib.auth import get_user_model
from django.db import connection
from rest_framework.authtoken.models import Token

from modelregistry.choices import PromotionAction
from modelregistry.models import PromotionEvent
from tests.conftest import promote
from tests.factories import register_version
from tests.predictions.conftest import load_market, symbol_with_bar

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@dataclass(frozen=True)
class Reply:
    at: float  # time.time() when the answer arrived
    status: int
    version: int | None


def _client_loop(url: str, token: str, symbols: list[str], stop: threading.Event, out: list[Reply]) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    n = 0
    while not stop.is_set():
        try:
            response = session.post(url, json={"symbol": symbols[n % len(symbols)]}, timeout=10)
            body: dict[str, Any] = response.json()
            out.append(Reply(time.time(), response.status_code, (body.get("model") or {}).get("version")))
        except (requests.RequestException, ValueError):
            out.append(Reply(time.time(), 0, None))
        n += 1


def _promote_in_another_process(version_id: int, settings: LazySettings) -> subprocess.CompletedProcess[str]:
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}",
        VCP_ARTIFACT_ROOT=str(settings.VCP_ARTIFACT_ROOT),
        VCP_LOG_TO_FILE="0",
        DEBUG="1",
    )
    return subprocess.run(
        [sys.executable, "manage.py", "promote_model", "--model-version", str(version_id), "--reason", "hot reload"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_promotion_in_another_process_switches_the_served_version_without_errors(
    live_server: Any, settings: LazySettings
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs a database the promoting process can share: run with DATABASE_URL=postgres://...")
    market = load_market(stocks=12)
    old = promote(register_version(seed=1))
    new = register_version(seed=2)
    user = get_user_model().objects.create(username="desk")
    token = Token.objects.create(user=user).key
    symbols = [symbol_with_bar(market.last)]
    replies: list[Reply] = []
    stop = threading.Event()
    clients = [
        threading.Thread(target=_client_loop, args=(f"{live_server.url}/api/v1/predict", token, symbols, stop, replies))
        for _ in range(2)
    ]
    for thread in clients:
        thread.start()
    try:
        time.sleep(1.0)
        promoted = _promote_in_another_process(new.pk, settings)
        assert promoted.returncode == 0, promoted.stderr
        committed_at = PromotionEvent.objects.get(action=PromotionAction.PROMOTE, model_version=new).created_at
        deadline = time.time() + 8.0
        while time.time() < deadline and not any(r.version == new.version for r in replies):
            time.sleep(0.05)
        time.sleep(2.0)  # keep calling: no reply may fall back to the old version
    finally:
        stop.set()
        for thread in clients:
            thread.join(timeout=15)

    assert replies
    assert all(r.status == 200 for r in replies), {r.status for r in replies}
    first_new = next(r for r in replies if r.version == new.version)
    assert first_new.at - committed_at.timestamp() < 5.0
    assert {r.version for r in replies} == {old.version, new.version}
    after_switch = [r.version for r in replies if r.at > first_new.at + 1.5]  # every process re-checks within 1 s
    assert after_switch
    assert set(after_switch) == {new.version}
