"""Reading the prediction audit trail back: which token asked for what, over the last N days.

Every served prediction leaves one JSON line on the ``vcp.audit`` logger (``predictions.serving``),
which goes to ``VCP_LOG_DIR/audit.log`` (rotated daily by logrotate, 30 days kept, older files
gzipped). This module reads those files (``audit.log``, ``audit.log-YYYY-MM-DD`` and ``.gz``) and
filters them; ``manage.py prediction_audit`` is its command. Reading files keeps the request path
free of database writes (docs/architecture.md, the hot path's budget).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AUDIT_FILE = "audit.log"


@dataclass(frozen=True)
class AuditQuery:
    since: dt.datetime  # naive local time, as the log's "time" field is written
    token: str | None = None  # the first characters of a token key (the log keeps 8)
    user: str | None = None
    symbol: str | None = None


def audit_files(log_dir: Path) -> list[Path]:
    """The current file and its rotations, oldest first."""
    files = [p for p in Path(log_dir).glob(f"{AUDIT_FILE}*") if p.is_file()]
    return sorted(files, key=lambda p: p.stat().st_mtime)


def _lines(path: Path) -> Iterator[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        yield from fh


def _actor_parts(actor: str) -> dict[str, str]:
    """``"token:ab12cd34 user:desk"`` -> ``{"token": "ab12cd34", "user": "desk"}``."""
    parts: dict[str, str] = {}
    for item in actor.split():
        key, _, value = item.partition(":")
        if value:
            parts[key] = value
    return parts


def _time(record: dict[str, Any]) -> dt.datetime | None:
    raw = str(record.get("time", ""))[:19]
    try:
        return dt.datetime.strptime(raw, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


def audit_records(log_dir: Path, query: AuditQuery) -> Iterator[dict[str, Any]]:
    """Prediction records matching ``query``, oldest first; unreadable lines are skipped."""
    symbol = query.symbol.strip().upper() if query.symbol else None
    for path in audit_files(log_dir):
        for line in _lines(path):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if not isinstance(record, dict) or record.get("event") != "prediction":
                continue
            when = _time(record)
            if when is None or when < query.since:
                continue
            actor = _actor_parts(str(record.get("actor", "")))
            if query.token and not actor.get("token", "").startswith(query.token[:8]):
                continue
            if query.user and actor.get("user") != query.user:
                continue
            if symbol and record.get("symbol") != symbol:
                continue
            yield {**record, "token": actor.get("token"), "user": actor.get("user")}
