"""Events of the registry that higher layers may act on, without the registry importing them.

``artifact_integrity_failed`` is sent when a stored artifact of a version no longer matches the
sha256 the registry recorded, by the loader (its running check, or a load) in a web process or
worker. A promotion or rollback that refuses a version only logs: the caller sees the refusal.
``monitoring`` connects a receiver that raises a critical ``Alert`` (monitoring/apps.py); the
registry itself only logs and counts (``vcp_artifact_integrity_failures_total``). The layers stay
one way: monitoring imports the registry, never the reverse.

Arguments: ``version_id`` (int), ``name`` (str), ``version`` (int), ``reason`` (str, names the file:
for staff and logs, never for API clients), ``where`` (str: "loader" or "native").
"""

from __future__ import annotations

from django.dispatch import Signal

artifact_integrity_failed = Signal()
