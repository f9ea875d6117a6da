"""Fault injection against real processes: gunicorn (2 workers), a redis-server the test starts and
stops, and a TCP proxy between the app and PostgreSQL that the test closes or stalls.

What must hold (docs/reliability.md has the measured figures; run with ``-s`` to print them):
- Redis stopped or frozen: /predict keeps answering 200; a promotion still reaches both workers
  (through the database's production pointer) within 5 s; Redis back: nothing to restart.
- PostgreSQL refusing or hung: every answer is a 200 (served from the caches) or a 503 JSON with
  Retry-After, within 5 s, never a 500; PostgreSQL back: every request answers 200 again, no restart.
- A production artifact changed on disk: both workers refuse it within the check interval (503
  without paths, readiness "not ready", an alert); the file restored: served again.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import LazySettings
from django.contrib.auth import get_user_model
from django.db import connection
from rest_framework.authtoken.models import Token

from modelregistry.models import ModelVersion
from monitoring.choices import AlertKind
from monitoring.models import Alert
from predictions import services
from tests.conftest import promote
from tests.factories import register_version
from tests.faultkit import RedisServer, database_url, fault_proxy, gunicorn, redis_server, wait_until
from tests.predictions.conftest import Market, load_market

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
__all__ = ["redis_server"]  # the fixture, imported for its registration

FIVE_SECONDS = 5.0


@dataclass(frozen=True)
class Reply:
    sent: float  # time.monotonic()
    seconds: float
    status: int  # 0: no HTTP answer at all
    version: int | None
    body: dict[str, Any]
    retry_after: str | None


@dataclass
class Prober:
    """Calls one endpoint in a loop from a thread and keeps every reply."""

    url: str
    token: str
    payloads: list[dict[str, Any]] | None = None  # POST bodies in turn; None: GET
    replies: list[Reply] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _call(self, session: requests.Session, n: int) -> Reply:
        sent = time.monotonic()
        try:
            if self.payloads is None:
                response = session.get(self.url, timeout=15)
            else:
                response = session.post(self.url, json=self.payloads[n % len(self.payloads)], timeout=15)
            try:
                body = response.json()
            except ValueError:
                body = {"raw": response.text[:200]}
            version = (body.get("model") or {}).get("version") if isinstance(body, dict) else None
            return Reply(
                sent, time.monotonic() - sent, response.status_code, version, body, response.headers.get("Retry-After")
            )
        except requests.RequestException as exc:
            return Reply(sent, time.monotonic() - sent, 0, None, {"exception": repr(exc)}, None)

    def run(self) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Token {self.token}"
        n = 0
        while not self._stop.is_set():
            self.replies.append(self._call(session, n))
            n += 1
            time.sleep(0.02)

    def __enter__(self) -> Prober:
        self._thread = threading.Thread(target=self.run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=20)

    def since(self, moment: float) -> list[Reply]:
        return [r for r in list(self.replies) if r.sent >= moment]


def _summary(name: str, replies: list[Reply]) -> dict[str, Any]:
    statuses: dict[int, int] = {}
    for r in replies:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    slowest = max((r.seconds for r in replies), default=0.0)
    figures = {"phase": name, "requests": len(replies), "statuses": statuses, "slowest_s": round(slowest, 3)}
    print(json.dumps(figures))
    return figures


@dataclass(frozen=True)
class Stage:
    market: Market
    production: ModelVersion
    token: str
    symbols: list[str]


@pytest.fixture
def stage(db: None) -> Stage:
    if connection.vendor != "postgresql":
        pytest.skip("the servers under test share the database: run with DATABASE_URL=postgres://...")
    market = load_market(stocks=12)
    production = promote(register_version(seed=1))
    services.batch_run_inline(date=market.last)  # snapshots: /predict reads no bars
    user = get_user_model().objects.create(username="desk")
    token = Token.objects.create(user=user).key
    return Stage(market=market, production=production, token=token, symbols=market.symbols[:6])


def _app_env(settings: LazySettings, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url(connection.settings_dict),
        "VCP_ARTIFACT_ROOT": str(settings.VCP_ARTIFACT_ROOT),
        "VCP_EXPORT_DIR": str(settings.VCP_EXPORT_DIR),
        **extra,
    }


def _predict_payloads(stage: Stage) -> list[dict[str, Any]]:
    return [{"symbol": s} for s in stage.symbols]


def _warm(url: str, stage: Stage) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Token {stage.token}"
    for _ in range(3):  # every worker, every symbol: a sync worker takes the next request, so repeat
        for payload in _predict_payloads(stage):
            assert session.post(f"{url}/api/v1/predict", json=payload, timeout=15).status_code == 200


def test_redis_stopped_or_frozen_never_fails_predict_and_promotions_still_arrive(
    stage: Stage, redis_server: RedisServer, settings: LazySettings, tmp_path: Path
) -> None:
    env = _app_env(settings, REDIS_URL=redis_server.url, VCP_REGISTRY_DB_RECHECK_SECONDS="2")
    with gunicorn(env=env, tmp_path=tmp_path) as server:
        _warm(server.url, stage)
        with Prober(f"{server.url}/api/v1/predict", stage.token, _predict_payloads(stage)) as probe:
            time.sleep(1.0)
            down = time.monotonic()
            redis_server.stop()
            time.sleep(3.0)

            # A promotion while Redis is down: the workers learn it from the database's pointer.
            newer = register_version(seed=2)
            promote(newer)
            promoted_at = time.monotonic()
            switch = wait_until(
                lambda: (
                    (recent := probe.since(time.monotonic() - 1.0))
                    and all(r.version == newer.version for r in recent[-8:])
                    and len(recent) >= 8
                ),
                timeout=10,
                what="the promotion reaching both workers without Redis",
            )
            stopped = probe.since(down)

            back = time.monotonic()
            redis_server.start()
            time.sleep(3.0)
            restarted = probe.since(back)

            frozen_at = time.monotonic()
            redis_server.freeze()
            time.sleep(6.0)
            frozen = probe.since(frozen_at)
            redis_server.thaw()
            thawed_at = time.monotonic()
            time.sleep(3.0)
            thawed = probe.since(thawed_at)

    for name, replies in (("redis stopped", stopped), ("redis back", restarted), ("redis frozen", frozen)):
        summary = _summary(name, replies)
        assert replies, name
        assert summary["statuses"] == {200: len(replies)}, (name, summary, server.log_tail())
    _summary("redis thawed", thawed)
    assert {r.status for r in thawed} == {200}
    # A frozen Redis costs one socket timeout (0.5 s) per worker per cooldown (5 s), not 10 s per request.
    assert max(r.seconds for r in frozen) < 2.0
    print(json.dumps({"phase": "promotion without redis", "seconds_to_every_worker": round(switch, 2)}))
    assert promoted_at - down > 0
    assert switch < FIVE_SECONDS


def test_postgres_refusing_or_hung_answers_503_within_5s_and_recovers(
    stage: Stage, redis_server: RedisServer, settings: LazySettings, tmp_path: Path
) -> None:
    db = connection.settings_dict
    with fault_proxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))) as proxy:
        env = _app_env(
            settings, REDIS_URL=redis_server.url, DATABASE_URL=database_url(db, host="127.0.0.1", port=proxy.port)
        )
        with gunicorn(env=env, tmp_path=tmp_path) as server:
            _warm(server.url, stage)
            # The ranked list reads the database on every call; /predict is served from the caches.
            listing = Prober(f"{server.url}/api/v1/predictions?page_size=5", stage.token)
            predict = Prober(f"{server.url}/api/v1/predict", stage.token, _predict_payloads(stage))
            with listing, predict:
                time.sleep(1.0)
                assert {r.status for r in listing.replies} == {200}

                refused_at = time.monotonic()
                proxy.refuse()
                time.sleep(4.0)
                healed_at = time.monotonic()
                proxy.heal()
                recovered = wait_until(
                    lambda: [r.status for r in listing.since(time.monotonic() - 0.5)][-3:] == [200, 200, 200],
                    timeout=10,
                    what="recovery after PostgreSQL came back",
                )
                time.sleep(1.0)

                stalled_at = time.monotonic()
                proxy.stall()
                time.sleep(9.0)
                unstalled_at = time.monotonic()
                proxy.heal()
                recovered_after_stall = wait_until(
                    lambda: [r.status for r in listing.since(time.monotonic() - 0.5)][-3:] == [200, 200, 200],
                    timeout=15,
                    what="recovery after PostgreSQL answered again",
                )
                time.sleep(1.0)

    for name, start, end in (
        ("postgres refusing", refused_at, healed_at),
        ("postgres hung", stalled_at, unstalled_at),
    ):
        for probe, endpoint in ((listing, "predictions"), (predict, "predict")):
            replies = [r for r in probe.replies if start <= r.sent < end]
            summary = _summary(f"{name}: {endpoint}", replies)
            assert replies, (name, endpoint)
            assert set(summary["statuses"]) <= {200, 503}, (name, endpoint, summary, server.log_tail())
            assert summary["slowest_s"] < FIVE_SECONDS, (name, endpoint, summary)
            for reply in replies:
                if reply.status == 503:
                    assert reply.body["error"]["code"] in {"service_unavailable", "not_ready"}, reply.body
                    assert reply.retry_after == "5"
        # Including the call already in flight when the fault began: it too must end within 5 s.
        in_flight = [r for r in listing.replies if r.sent < start < r.sent + r.seconds]
        assert all(r.seconds < FIVE_SECONDS and r.status in {200, 503} for r in in_flight), in_flight
        first_503 = min(r.sent + r.seconds for r in listing.replies if r.status == 503 and r.sent + r.seconds > start)
        print(json.dumps({"phase": name, "time_to_first_503_s": round(first_503 - start, 2)}))
        assert first_503 - start < FIVE_SECONDS
    print(
        json.dumps({"phase": "recovery", "refused_s": round(recovered, 2), "hung_s": round(recovered_after_stall, 2)})
    )
    after = [r for r in listing.replies if r.sent > unstalled_at + recovered_after_stall]
    assert after
    assert {r.status for r in after} == {200}


def test_a_tampered_production_artifact_is_refused_by_every_worker_within_the_check_interval(
    stage: Stage, redis_server: RedisServer, settings: LazySettings, tmp_path: Path
) -> None:
    env = _app_env(settings, REDIS_URL=redis_server.url, VCP_ARTIFACT_VERIFY_SECONDS="2")
    onnx = Path(settings.VCP_ARTIFACT_ROOT) / stage.production.name / str(stage.production.version) / "model.onnx"
    original = onnx.read_bytes()
    with gunicorn(env=env, tmp_path=tmp_path) as server:
        _warm(server.url, stage)
        with Prober(f"{server.url}/api/v1/predict", stage.token, _predict_payloads(stage)) as probe:
            time.sleep(1.0)
            tampered_at = time.monotonic()
            onnx.write_bytes(original + b"\x00tampered")
            refused = wait_until(
                lambda: (
                    len(recent := probe.since(time.monotonic() - 0.6)) >= 6
                    and all(r.status == 503 for r in recent[-6:])
                ),
                timeout=10,
                what="both workers refusing the tampered version",
            )
            ready = requests.get(f"{server.url}/api/v1/health/ready", timeout=10)
            onnx.write_bytes(original)
            restored_at = time.monotonic()
            back = wait_until(
                lambda: (
                    len(recent := probe.since(time.monotonic() - 0.6)) >= 6
                    and all(r.status == 200 for r in recent[-6:])
                ),
                timeout=10,
                what="the restored version served again",
            )
    refusals = [r for r in probe.replies if tampered_at <= r.sent < restored_at and r.status == 503]
    print(
        json.dumps(
            {"phase": "tampered artifact", "refused_by_all_s": round(refused, 2), "served_again_s": round(back, 2)}
        )
    )
    assert refused < 2.0 + 2.0  # the check interval, plus a request to each worker
    assert refusals
    for reply in refusals:
        assert reply.body["error"]["code"] == "model_unavailable"
        assert str(settings.VCP_ARTIFACT_ROOT) not in json.dumps(reply.body)
        assert "model.onnx" not in json.dumps(reply.body)
    assert ready.status_code == 503
    assert ready.json()["error"]["details"]["checks"]["model"] == {"ok": False, "state": "unavailable"}
    alert = Alert.objects.get(kind=AlertKind.ARTIFACT_CHECK)
    assert alert.severity == "critical"
    assert "model.onnx" in alert.context["reason"]  # staff see which file changed
