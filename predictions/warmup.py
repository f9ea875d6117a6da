"""A web worker's serving state, loaded before it takes its first request (gunicorn's
``post_worker_init`` in deploy/gunicorn.conf.py).

Otherwise a fresh worker pays for it inside its first requests: the production model, every
instrument, the latest session's instruments and that session's predictions from the shared tier.
With gunicorn restarting workers under load (``max_requests``), those first requests were the open
loop's p99 (docs/performance.md). Any failure is logged and left to the lazy paths, which load the
same things on demand.
"""

from __future__ import annotations

import logging
import time

from predictions import lookups, serving

logger = logging.getLogger("vcp.serving")


def serving_warm() -> dict[str, float]:
    """Load what a /predict needs into this process; seconds per step (a step that failed is absent)."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    try:
        model = serving.production_model()
        timings["model"] = time.perf_counter() - started
        started = time.perf_counter()
        lookups.instruments_load_all()
        timings["instruments"] = time.perf_counter() - started
        latest = lookups.latest_market_date()
        if latest is not None:
            started = time.perf_counter()
            traded = lookups.instruments_traded_on(date=latest)
            lookups.latest_bar_dates(instrument_ids=traded[:1])  # a miss loads the whole session at once
            serving.warm_latest_day(model, {latest})
            timings["latest_session"] = time.perf_counter() - started
    except Exception:  # the lazy paths load the same on demand; a warm-up must never stop a worker
        logger.warning("serving warm-up failed; the first requests will load what they need", exc_info=True)
    return timings
