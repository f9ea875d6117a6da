"""The shared cache as an optional dependency: the breaker skips it for a cooldown after an error."""

from __future__ import annotations

import pytest

from common.sharedcache import Breaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_after_an_error_the_breaker_skips_calls_for_the_cooldown_then_tries_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    breaker = Breaker("test cache", cooldown=lambda: 5.0, clock=clock)
    assert not breaker.is_open
    breaker.failed(ConnectionError("down"))
    breaker.failed(ConnectionError("down"))
    assert breaker.is_open
    assert sum("unavailable" in r.getMessage() for r in caplog.records) == 1  # one line per outage
    clock.now += 4.9
    assert breaker.is_open
    clock.now += 0.2
    assert not breaker.is_open
    breaker.succeeded()
    assert any("answers again" in r.getMessage() for r in caplog.records)


def test_guarded_returns_the_fallback_and_does_not_call_while_open(monkeypatch: pytest.MonkeyPatch) -> None:
    from common import sharedcache

    calls: list[int] = []

    def failing() -> int:
        calls.append(1)
        raise TimeoutError("Timeout reading from socket")

    assert sharedcache.guarded(failing, "fallback") == "fallback"
    assert sharedcache.guarded(failing, "fallback") == "fallback"
    assert len(calls) == 1  # the second call never reached the cache
    assert not sharedcache.available()
    sharedcache.breaker.reset()
    assert sharedcache.guarded(lambda: 7, 0) == 7
