"""Celery tasks of the model registry: the monthly challenger. The work lives in services."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from modelregistry import services

logger = logging.getLogger("vcp.registry.tasks")


# Training takes minutes to an hour on the full universe, longer than the broker's visibility
# timeout for acks_late tasks (vcp_platform/settings.py): so the message is acknowledged on receipt.
# A lost run is retried by the next month's beat, or by hand (`promote_model --best` after
# `train_model`). The run is idempotent: the same month's challenger is reused, never trained twice.
@shared_task(name="modelregistry.tasks.train_challenger_monthly", acks_late=False, soft_time_limit=3 * 3600)
def train_challenger_monthly(name: str = "upper-circuit") -> dict[str, Any]:
    """Beat, the 1st of each month: train a challenger and promote it only if it passes the gate."""
    result = services.challenger_train(name=name, actor=None)  # None: recorded as "system"
    verdict = result.verdict
    logger.info(
        "challenger %s: %s",
        result.version.label,
        "promoted" if result.promoted else "kept as candidate",
        extra={"reason": getattr(verdict, "reason", "automatic promotion is off")},
    )
    return {
        "version": result.version.label,
        "trained": result.trained,
        "promoted": result.promoted,
        "reason": getattr(verdict, "reason", "automatic promotion is off (VCP_CHALLENGER_AUTO_PROMOTE=0)"),
    }
