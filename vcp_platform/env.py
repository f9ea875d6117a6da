"""Strict readers for settings that come from environment variables.

django-environ parses URLs well but is lenient elsewhere: ``Env.bool`` turns "ture" into False and
``Env.int`` raises a bare ValueError. Every reader here raises ``ImproperlyConfigured`` naming the
variable, its bad value and what would be accepted, so a typo stops startup with a usable message.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import environ
from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None else value.strip()


def _parse(name: str, parse: Callable[[str], T], expected: str, default: T) -> T:
    raw = _raw(name)
    if raw is None:
        return default
    try:
        return parse(raw)
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not valid: expected {expected}.") from exc


def env_str(name: str, default: str) -> str:
    raw = _raw(name)
    return default if raw is None or raw == "" else raw


def env_optional_str(name: str) -> str | None:
    raw = _raw(name)
    return raw or None


def env_bool(name: str, default: bool) -> bool:
    def parse(raw: str) -> bool:
        lowered = raw.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(raw)

    return _parse(name, parse, "one of 1/0, true/false, yes/no, on/off", default)


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    def parse(raw: str) -> int:
        value = int(raw)
        if minimum is not None and value < minimum:
            raise ValueError(raw)
        return value

    bound = "" if minimum is None else f" >= {minimum}"
    return _parse(name, parse, f"an integer{bound}", default)


def env_float(name: str, default: float) -> float:
    def parse(raw: str) -> float:
        value = float(raw)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(raw)
        return value

    return _parse(name, parse, "a finite number", default)


def env_list(name: str, default: list[str]) -> list[str]:
    raw = _raw(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_db_url(name: str, default: str) -> dict[str, Any]:
    raw = env_str(name, default)
    try:
        config = environ.Env.db_url_config(raw)
    except (ImproperlyConfigured, ValueError, KeyError) as exc:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a database URL: expected e.g. "
            "postgres://user:password@host:5432/dbname or sqlite:////absolute/path.sqlite3."
        ) from exc
    if config.get("ENGINE") not in set(environ.Env.DB_SCHEMES.values()):
        raise ImproperlyConfigured(
            f"{name}={raw!r} names an unsupported database scheme: use postgres:// (or sqlite:// for local demos)."
        )
    return dict(config)


def env_redis_url(name: str, default: str | None = None) -> str | None:
    raw = env_optional_str(name) or default
    if raw is None:
        return None
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a Redis URL: expected redis://host:6379/0 (or rediss://, unix://)."
        )
    return raw
