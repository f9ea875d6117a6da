"""Readiness: can this process serve predictions right now? Database, shared cache, production model.

Each check has a bare state for anyone (``ok`` or ``unavailable``) and a detail for staff (the
driver's error, which names hosts and ports). The shared cache is reported but does not make the
process "not ready": /predict answers without it (docs/reliability.md).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.core.cache import caches
from django.db import connection

from modelregistry.loader import loader
from predictions.exceptions import ModelUnavailableError
from predictions.serving import production_model


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str  # for staff only: may name hosts, ports and files
    required: bool = True  # False: reported, but a failure leaves the process ready (degraded)

    @property
    def state(self) -> str:
        return "ok" if self.ok else "unavailable"


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
        return Check(False, f"cache unreachable: {type(exc).__name__}: {exc}", required=False)
    backend = type(cache).__name__
    if ok:
        return Check(True, backend, required=False)
    return Check(False, f"{backend} did not return what was written", required=False)


def _model() -> Check:
    try:
        model = production_model()
    except ModelUnavailableError as exc:
        refused = loader.refused()
        reasons = "; ".join(r.reason for r in refused.values())
        return Check(False, f"{exc.message} ({reasons})" if reasons else exc.message)
    except Exception as exc:  # the registry query itself failed (the database check says why)
        return Check(False, f"model lookup failed: {type(exc).__name__}: {exc}")
    detail = f"{model.name} v{model.version} loaded in {model.load_seconds:.3f}s"
    refused = loader.refused()
    if refused:  # an older version refused in this process: staff should know which file changed
        detail += "; refused: " + "; ".join(r.reason for r in refused.values())
    return Check(True, detail)


def readiness() -> dict[str, Check]:
    """Every check by name; the process is ready when every ``required`` check is ok."""
    checks = {"database": _database(), "cache": _cache()}
    checks["model"] = _model() if checks["database"].ok else Check(False, "skipped: the database is unreachable")
    return checks
