"""A Celery task that sleeps, for measuring graceful worker stops (scripts/compose_smoke.sh).

Loaded only by the probe worker the smoke test starts (``celery worker -I deploy.stop_probe`` on its
own queue); the platform's workers never import it.
"""

from __future__ import annotations

import time

from celery import shared_task


@shared_task(name="deploy.stop_probe.sleep", acks_late=True, reject_on_worker_lost=True)
def sleep(seconds: float) -> float:
    print(f"stop_probe: sleeping {seconds:g}", flush=True)
    time.sleep(seconds)
    print(f"stop_probe: slept {seconds:g}", flush=True)
    return seconds
