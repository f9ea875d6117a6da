"""prediction_audit: which token asked for what, from the audit log files, for the last N days."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command


def _line(when: dt.datetime, *, token: str, user: str, symbol: str) -> str:
    return json.dumps(
        {
            "time": when.strftime("%Y-%m-%d %H:%M:%S,000"),
            "level": "INFO",
            "logger": "vcp.audit",
            "message": "prediction served",
            "event": "prediction",
            "endpoint": "predict",
            "actor": f"token:{token} user:{user}",
            "symbol": symbol,
            "date": "2024-08-02",
            "model": "upper-circuit",
            "model_version": 3,
            "probability": 0.42,
        }
    )


def test_the_audit_is_queried_by_token_user_and_symbol_over_rotated_files(tmp_path: Path) -> None:
    now = dt.datetime.now()
    (tmp_path / "audit.log").write_text(
        _line(now, token="ab12cd34", user="desk", symbol="RELIANCE")
        + "\n"
        + _line(now, token="ffff0000", user="quant", symbol="TCS")
        + "\nnot json\n"
    )
    with gzip.open(tmp_path / "audit.log-2024-01-01.gz", "wt") as fh:
        fh.write(_line(now - dt.timedelta(days=3), token="ab12cd34", user="desk", symbol="INFY") + "\n")
        fh.write(_line(now - dt.timedelta(days=40), token="ab12cd34", user="desk", symbol="OLD") + "\n")

    out = StringIO()
    call_command("prediction_audit", "--log-dir", str(tmp_path), "--token", "ab12cd34deadbeef", "--json", stdout=out)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert sorted(r["symbol"] for r in records) == ["INFY", "RELIANCE"]  # 40 days ago is past --days 30
    assert {r["user"] for r in records} == {"desk"}

    text = StringIO()
    call_command("prediction_audit", "--log-dir", str(tmp_path), "--user", "quant", stdout=text)
    assert "TCS" in text.getvalue()
    assert "1 prediction(s) in the last 30 day(s)." in text.getvalue()

    only = StringIO()
    call_command("prediction_audit", "--log-dir", str(tmp_path), "--symbol", "infy", "--days", "5", stdout=only)
    assert "INFY" in only.getvalue()
    assert "RELIANCE" not in only.getvalue()


def test_the_audit_command_explains_a_missing_log_directory(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="VCP_LOG_TO_FILE"):
        call_command("prediction_audit", "--log-dir", str(tmp_path / "nowhere"), stdout=StringIO())
    with pytest.raises(CommandError, match="at least 1"):
        call_command("prediction_audit", "--log-dir", str(tmp_path), "--days", "0", stdout=StringIO())
