"""Logging configuration: JSON lines with the trace id, daily rotation with 30 days kept."""

from __future__ import annotations

import datetime as dt
import json
import logging
import logging.handlers
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pythonjsonlogger.json import JsonFormatter

from common.logging import TraceIdFilter, build_logging_config
from common.tracing import reset_trace_id, set_trace_id

ROOT = Path(__file__).resolve().parents[2]


def _file_config(tmp_path: Path, **kwargs: Any) -> dict[str, Any]:
    return build_logging_config(log_dir=tmp_path, json_format=True, to_file=True, level="INFO", **kwargs)


def test_log_files_rotate_at_midnight_and_keep_30_days(tmp_path: Path) -> None:
    handlers = _file_config(tmp_path)["handlers"]
    for name, filename in (("file", "vcp.log"), ("audit_file", "audit.log")):
        handler = handlers[name]
        assert handler["class"] == "logging.handlers.TimedRotatingFileHandler"
        assert (handler["when"], handler["backupCount"]) == ("midnight", 30)
        assert handler["filename"] == str(tmp_path / filename)
        assert handler["formatter"] == "json"
        assert handler["filters"] == ["trace_id"]


def test_rollover_deletes_files_older_than_the_retention(tmp_path: Path) -> None:
    spec = _file_config(tmp_path, retention_days=30)["handlers"]["file"]
    handler = logging.handlers.TimedRotatingFileHandler(
        spec["filename"], when=spec["when"], backupCount=spec["backupCount"], encoding="utf-8"
    )
    try:
        first = dt.date(2024, 1, 1)
        for day in range(40):  # 40 old daily files, named the way the handler names them
            (tmp_path / f"vcp.log.{first + dt.timedelta(days=day):%Y-%m-%d}").write_text("old\n")
        handler.emit(logging.makeLogRecord({"msg": "today"}))
        handler.doRollover()
    finally:
        handler.close()
    kept = sorted(p.name for p in tmp_path.glob("vcp.log.*"))
    assert len(kept) == 30
    assert kept[0] > f"vcp.log.{first + dt.timedelta(days=10):%Y-%m-%d}"  # the oldest went first


def test_retention_is_configurable(tmp_path: Path) -> None:
    assert _file_config(tmp_path, retention_days=7)["handlers"]["file"]["backupCount"] == 7


@pytest.mark.slow
def test_settings_turn_on_rotated_files_from_the_environment(tmp_path: Path) -> None:
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
    assert (handler["when"], handler["backupCount"]) == ("midnight", 30)


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
