"""Rotation under several writers loses nothing: two processes append to one file through
WatchedFileHandler while the file is rotated (renamed) ten times, as logrotate does it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINES = 3000

WRITER = """
import logging.config, sys
from pathlib import Path
from common.logging import build_logging_config
config = build_logging_config(log_dir=Path(sys.argv[1]), json_format=True, to_file=True, level="INFO")
logging.config.dictConfig(config)
log = logging.getLogger("vcp.rotation")
Path(sys.argv[1], "ready-" + sys.argv[2]).touch()
while not Path(sys.argv[1], "go").exists():
    pass
for n in range(int(sys.argv[3])):
    log.info("line", extra={"writer": sys.argv[2], "n": n, "pad": "x" * 200})
"""


@pytest.mark.slow
def test_two_processes_lose_no_line_across_ten_rotations(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), name, str(LINES)],
            cwd=ROOT,
            env=env,
            stderr=subprocess.DEVNULL,  # the console handler's copy
        )
        for name in ("a", "b")
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{n}").exists() for n in ("a", "b")) and time.monotonic() < deadline:
        time.sleep(0.05)
    (tmp_path / "go").touch()
    rotations = 0
    while any(w.poll() is None for w in writers) and rotations < 10:
        time.sleep(0.03)
        current = tmp_path / "vcp.log"
        if current.exists():
            current.rename(tmp_path / f"vcp.log.{rotations}")  # what logrotate does (no copytruncate)
            rotations += 1
    for writer in writers:
        assert writer.wait(timeout=60) == 0

    seen: dict[str, set[int]] = {"a": set(), "b": set()}
    total = 0
    for path in tmp_path.glob("vcp.log*"):
        for line in path.read_text().splitlines():
            record = json.loads(line)  # every line whole: no two writes interleaved
            seen[record["writer"]].add(record["n"])
            total += 1
    assert rotations >= 3, "the writers finished before the file could be rotated a few times"
    assert total == 2 * LINES
    assert seen == {"a": set(range(LINES)), "b": set(range(LINES))}
