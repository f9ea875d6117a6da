"""Fault injection for the real-worker tests, imported only by their Celery workers (``--include``).

While the file named by ``VCP_TEST_KILL_MARKER`` exists, the first chunk attempt to claim it (an atomic
rename, so exactly one) records its instrument ids and kills its worker process outright, as an OOM
kill or a node loss would. The chunk task is ``acks_late`` with ``reject_on_worker_lost``, so the
broker hands the chunk to another worker process, which scores it.

While the file named by ``VCP_TEST_HANG_MARKER`` exists, every chunk attempt records its pid and
instrument ids in ``<marker>.hung.<pid>`` and then hangs, so that the test can SIGKILL the whole
worker (main process included) with chunks in flight and unacknowledged.
"""

from __future__ import annotations

import json
import os
import time
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
    hang = os.environ.get("VCP_TEST_HANG_MARKER")
    if hang and Path(hang).exists():
        Path(f"{hang}.hung.{os.getpid()}").write_text(json.dumps({"instrument_ids": list(instrument_ids)}))
        while True:  # until the test kills this worker
            time.sleep(1)
    return _score_chunk(batch_run_id=batch_run_id, instrument_ids=instrument_ids)


services.batch_run_chunk_score = _score_chunk_unless_marked
