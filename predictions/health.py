"""Readiness: can this process serve predictions right now? Database, shared cache, production model."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.core.cache import caches
from django.db import connection

from predictions.exceptions import ModelUnavailableError
from predictions.serving import production_model


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str


def _database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not ready"; the reason is the answer
        return Check(False, f"database unreachable: {type(exc).__name__}: {exc}")
    return Check(True, connection.vendor)


def _cache() -> Check:
    key = f"vcp:health:{uuid.uuid4().hex}"
    cache = caches["default"]
    try:
        cache.set(key, "1", timeout=5)
        ok = cache.get(key) == "1"
        cache.delete(key)
    except Exception as exc:
        return Check(False, f"cache unreachable: {type(exc).__name__}: {exc}")
    backend = type(cache).__name__
    return Check(True, backend) if ok else Check(False, f"{backend} did not return what was written")


def _model() -> Check:
    try:
        model = production_model()
    except ModelUnavailableError as exc:
        return Check(False, exc.message)
    except Exception as exc:  # the registry query itself failed (the database check says why)
        return Check(False, f"model lookup failed: {type(exc).__name__}: {exc}")
    return Check(True, f"{model.name} v{model.version} loaded in {model.load_seconds:.3f}s")


def readiness() -> dict[str, Check]:
    checks = {"database": _database(), "cache": _cache()}
    checks["model"] = _model() if checks["database"].ok else Check(False, "skipped: the database is unreachable")
    return checks
