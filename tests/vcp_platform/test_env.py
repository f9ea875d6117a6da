from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from vcp_platform import env


def test_env_readers_parse_and_reject(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_BOOL", "Yes")
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_FLOAT", "nan")
    monkeypatch.setenv("X_LIST", "a, b,,c")
    assert env.env_bool("X_BOOL", False) is True
    assert env.env_int("X_INT", 0, minimum=1) == 42
    assert env.env_list("X_LIST", []) == ["a", "b", "c"]
    assert env.env_str("X_MISSING", "d") == "d"
    with pytest.raises(ImproperlyConfigured, match="X_FLOAT"):
        env.env_float("X_FLOAT", 0.0)
    monkeypatch.setenv("X_FLOAT", "0.25")
    assert env.env_float("X_FLOAT", 0.0) == 0.25
    assert env.env_redis_url("X_NO_REDIS") is None
