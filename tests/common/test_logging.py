"""Logging configuration: JSON lines with the trace id, files appended by every process, rotated by logrotate."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from pythonjsonlogger.json import JsonFormatter

from common.logging import TraceIdFilter, build_logging_config
from common.tracing import reset_trace_id, set_trace_id

ROOT = Path(__file__).resolve().parents[2]


def _file_config(tmp_path: Path, **kwargs: Any) -> dict[str, Any]:
    return build_logging_config(log_dir=tmp_path, json_format=True, to_file=True, level="INFO", **kwargs)


def test_log_files_are_appended_by_every_process_and_reopened_after_logrotate(tmp_path: Path) -> None:
    handlers = _file_config(tmp_path)["handlers"]
    for name, filename in (("file", "vcp.log"), ("audit_file", "audit.log")):
        handler = handlers[name]
        # One rotating writer (logrotate), many appenders: tests/common/test_logging_rotation.py.
        expected = (
            "common.logging.QueuedWatchedFileHandler" if name == "audit_file" else "logging.handlers.WatchedFileHandler"
        )
        assert handler["class"] == expected
        assert handler["filename"] == str(tmp_path / filename)
        assert handler["formatter"] == "json"
        assert handler["filters"] == ["trace_id"]


def test_logrotate_keeps_30_days_of_both_files() -> None:
    config = (ROOT / "deploy" / "logrotate" / "vcp").read_text()
    assert "rotate 30" in config
    assert "copytruncate" not in [line.strip() for line in config.splitlines()]
    assert "vcp.log" in config
    assert "audit.log" in config


@pytest.mark.slow
def test_settings_turn_on_log_files_from_the_environment(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    environment |= {
        "DJANGO_SETTINGS_MODULE": "vcp_platform.settings",
        "DEBUG": "1",
        "VCP_DATA_DIR": str(tmp_path),
        "VCP_LOG_TO_FILE": "1",
        "VCP_LOG_RETENTION_DAYS": "30",
    }
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.LOGGING['handlers']['file']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    handler = json.loads(result.stdout.splitlines()[-1])
    assert handler["filename"] == str(tmp_path / "logs" / "vcp.log")
    assert handler["class"] == "logging.handlers.WatchedFileHandler"


def test_json_lines_carry_the_trace_id_and_extra_fields(tmp_path: Path) -> None:
    formatter_spec = _file_config(tmp_path)["formatters"]["json"]
    assert formatter_spec["()"] == "pythonjsonlogger.json.JsonFormatter"
    formatter = JsonFormatter(fmt=formatter_spec["fmt"], rename_fields=formatter_spec["rename_fields"])
    record = logging.makeLogRecord(
        {
            "name": "vcp.monitoring",
            "levelname": "WARNING",
            "levelno": 30,
            "msg": "drift %s",
            "args": ("alert",),
            "model": "upper-circuit v3",
        }
    )
    token = set_trace_id("abc-123")
    try:
        assert TraceIdFilter().filter(record)
    finally:
        reset_trace_id(token)
    line = json.loads(formatter.format(record))
    assert line["message"] == "drift alert"
    assert (line["level"], line["logger"], line["trace_id"], line["model"]) == (
        "WARNING",
        "vcp.monitoring",
        "abc-123",
        "upper-circuit v3",
    )
    assert "time" in line


def test_outside_a_request_the_trace_id_is_a_dash() -> None:
    record = logging.makeLogRecord({"msg": "beat"})
    TraceIdFilter().filter(record)
    assert record.trace_id == "-"


def test_the_prediction_audit_log_has_its_own_file_and_is_never_silenced(tmp_path: Path) -> None:
    config = build_logging_config(log_dir=tmp_path, json_format=True, to_file=True, level="ERROR")
    audit = config["loggers"]["vcp.audit"]
    assert audit == {"handlers": ["audit_file"], "level": "INFO", "propagate": False}
    assert config["root"] == {"handlers": ["console", "file"], "level": "ERROR"}


def test_the_audit_file_is_written_by_a_background_thread_with_the_callers_trace_id(tmp_path: Path) -> None:
    from common.logging import QueuedWatchedFileHandler

    handler = QueuedWatchedFileHandler(str(tmp_path / "audit.log"), encoding="utf-8", delay=True)
    handler.setFormatter(JsonFormatter("%(message)s %(trace_id)s"))
    handler.addFilter(TraceIdFilter())
    logger = logging.getLogger("tests.audit.queued")
    logger.propagate = False
    logger.addHandler(handler)
    token = set_trace_id("trace-queued")
    try:
        for n in range(50):
            logger.warning("prediction served", extra={"event": "prediction", "symbol": f"S{n}"})
    finally:
        reset_trace_id(token)
        logger.removeHandler(handler)
    path = tmp_path / "audit.log"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (not path.exists() or path.read_text().count("\n") < 50):
        time.sleep(0.02)  # the writer thread appends them on its own, within WRITE_INTERVAL
    assert path.read_text().count("\n") == 50
    handler.flush()
    lines = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    assert [r["symbol"] for r in lines] == [f"S{n}" for n in range(50)]
    assert {r["trace_id"] for r in lines} == {"trace-queued"}
    assert handler._pid == os.getpid()  # this process's writer thread was started
    handler.close()
