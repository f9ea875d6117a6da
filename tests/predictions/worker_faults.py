"""Fault injection for the real-worker test, imported only by its Celery worker (``--include``).

While the file named by ``VCP_TEST_KILL_MARKER`` exists, the first chunk attempt to claim it (an atomic
rename, so exactly one) records its instrument ids and kills its worker process outright, as an OOM
kill or a node loss would. The chunk task is ``acks_late`` with ``reject_on_worker_lost``, so the
broker hands the chunk to another worker process, which scores it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from predictions import services

_score_chunk = services.batch_run_chunk_score


def _score_chunk_unless_marked(*, batch_run_id: int, instrument_ids: Sequence[int]) -> dict[str, Any]:
    marker = os.environ.get("VCP_TEST_KILL_MARKER")
    if marker:
        fired = Path(f"{marker}.fired")
        try:
            os.rename(marker, fired)
        except FileNotFoundError:
            pass
        else:
            fired.write_text(json.dumps({"pid": os.getpid(), "instrument_ids": list(instrument_ids)}))
            os._exit(1)
    return _score_chunk(batch_run_id=batch_run_id, instrument_ids=instrument_ids)


services.batch_run_chunk_score = _score_chunk_unless_marked
