"""Monitoring's side of events sent by lower layers (connected in ``monitoring.apps``).

The registry announces a model version whose artifacts no longer match their recorded sha256
(``modelregistry.signals.artifact_integrity_failed``, from the loader's running check or from a
refused promotion); monitoring turns it into a critical ``Alert``, de-duplicated per version, so
staff hear of it once, by email and webhook, while every process that notices it counts it in
``vcp_artifact_integrity_failures_total``. The registry never imports monitoring.
"""

from __future__ import annotations

import logging
from typing import Any

from monitoring.choices import AlertKind, AlertSeverity

logger = logging.getLogger("vcp.monitoring")


def artifact_integrity_alert(
    sender: Any, *, version_id: int, name: str, version: int, reason: str, where: str, **_: Any
) -> None:
    from monitoring.services import alert_raise

    try:
        alert_raise(
            kind=AlertKind.ARTIFACT_CHECK,
            severity=AlertSeverity.CRITICAL,
            message=(
                f"{name} v{version}: a stored artifact no longer matches the sha256 recorded at registration; "
                "the version is refused. Restore the files, or roll back / promote another version."
            ),
            dedupe_key=f"artifact_check:{version_id}",
            context={"model_version_id": version_id, "reason": reason, "where": where},
        )
    except Exception:  # the alert is best effort (the database may be what failed); the log line stays
        logger.exception("could not record the artifact integrity alert", extra={"model_version_id": version_id})
