"""bench/summary.py (``make bench``): every benchmark runs within one overall budget, and one that
cannot start in time is a FAILED row, never a missing one."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _summary() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_summary", ROOT / "bench" / "summary.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_overall_budget_caps_the_run_and_reports_what_it_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = _summary()
    rows = [["metric", "value", "unit", "note"], ["rows_per_s", "123", "rows/s", "ok"]]
    write = f"import csv, time; time.sleep(3); csv.writer(open(r'{tmp_path}/first.csv', 'w')).writerows({rows!r})"
    monkeypatch.setattr(summary, "OUT", tmp_path)
    monkeypatch.setattr(summary, "TOTAL_BUDGET_SECONDS", 12)
    monkeypatch.setattr(summary, "PLAN", {"first": (["-c", write], 60), "second": (["-c", "pass"], 60)})
    monkeypatch.setattr(sys, "argv", ["summary.py"])
    assert summary.main() == 1
    out = capsys.readouterr().out
    assert "== first: -c" in out
    assert "(limit 11 s)" in out  # its own 60 s limit, cut to what is left of the 12 s budget
    assert "| first          | rows_per_s" in out
    assert "| second         | run" in out
    assert "not run: the 12 s budget of make bench is spent" in out


def test_load_test_rows_are_shown_as_throughput_with_their_latencies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = _summary()
    header = (
        "when,label,mode,mix,call,throughput_rps,p50_ms,p95_ms,p99_ms,errors,cache_hit_rate,load1_before,load1_after"
    )
    lines = [header] + [
        f"2026-12-01T12:0{k}:00,run{k},closed,predict,predict,{1000 + k},16.3,32.8,40.2,0,1.0,1.5,2.8" for k in range(9)
    ]
    (tmp_path / "load.csv").write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(summary, "OUT", tmp_path)
    monkeypatch.setattr(sys, "argv", ["summary.py", "--no-run"])
    assert summary.main() == 0
    out = capsys.readouterr().out
    assert "| load           | run8 closed predict" in out
    assert "1008 | req/s  | p50 16.3 / p95 32.8 / p99 40.2 ms, errors 0, hit rate 1.0" in out
    assert "run0 closed" not in out  # only the latest LOAD_ROWS rows
    assert "run1 closed" in out
