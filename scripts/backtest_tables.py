#!/usr/bin/env python3
"""Markdown tables of a backtest report's JSON export, as pasted into docs/backtesting.md.

    .venv/bin/python scripts/backtest_tables.py var/reports/walk_forward.json

Prints the walk-forward folds (when the backtest traded a walk-forward), the per-year and overall
prediction metrics next to the naive baselines, the strategy's and the benchmark's risk, and the
engine's counts. Standard library only; reads the file written by ``walk_forward --report`` or
``run_backtest --report`` (or downloaded from the staff page's "Export JSON").
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any


def _f(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _pct(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{value * 100:.{digits}f}%"


def _get(block: dict[str, Any], part: str, scorer: str, key: str) -> Any:
    section = block.get(part) or {}
    values = section.get("model") if scorer == "model" else (section.get("baselines") or {}).get(scorer)
    return (values or {}).get(key)


def folds_table(folds: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| Fold | Test window | Train window | Threshold | F1 | Precision | Recall | PR-AUC | P@20 "
        "| Hit today F1 | Hit today PR-AUC | New circuits PR-AUC |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for fold in folds:
        m = fold.get("metrics") or {}
        lines.append(
            f"| {fold['index']} | {fold['test_start']} to {fold['test_end']} | {fold['train_start']} to "
            f"{fold['train_end']} | {_f(fold['threshold'])} | {_f(_get(m, 'all', 'model', 'f1'))} "
            f"| {_f(_get(m, 'all', 'model', 'precision'))} | {_f(_get(m, 'all', 'model', 'recall'))} "
            f"| {_f(_get(m, 'all', 'model', 'pr_auc'))} | {_f(_get(m, 'all', 'model', 'precision_at_20'))} "
            f"| {_f(_get(m, 'all', 'hit_today', 'f1'))} | {_f(_get(m, 'all', 'hit_today', 'pr_auc'))} "
            f"| {_f(_get(m, 'new_circuits', 'model', 'pr_auc'))} |"
        )
    return lines


def periods_table(metrics: dict[str, Any]) -> list[str]:
    lines = [
        "| Period | Stock-days | Base rate | F1 | Precision | Recall | PR-AUC | P@20 | Hit today F1 "
        "| Hit today PR-AUC | Momentum PR-AUC | New circuits: model PR-AUC | New circuits: momentum PR-AUC "
        "| EQ: model PR-AUC | EQ: hit today PR-AUC |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for block in [*metrics.get("year", []), {"period": "**All**", **metrics.get("overall", {})}]:
        model = (block.get("all") or {}).get("model") or {}
        lines.append(
            f"| {block['period']} | {model.get('rows', 0):,} | {_pct(model.get('base_rate'), 2)} "
            f"| {_f(model.get('f1'))} | {_f(model.get('precision'))} | {_f(model.get('recall'))} "
            f"| {_f(model.get('pr_auc'))} | {_f(model.get('precision_at_20'))} "
            f"| {_f(_get(block, 'all', 'hit_today', 'f1'))} | {_f(_get(block, 'all', 'hit_today', 'pr_auc'))} "
            f"| {_f(_get(block, 'all', 'momentum_top_k', 'pr_auc'))} "
            f"| {_f(_get(block, 'new_circuits', 'model', 'pr_auc'))} "
            f"| {_f(_get(block, 'new_circuits', 'momentum_top_k', 'pr_auc'))} "
            f"| {_f(_get(block, 'series_eq', 'model', 'pr_auc'))} "
            f"| {_f(_get(block, 'series_eq', 'hit_today', 'pr_auc'))} |"
        )
    return lines


def risk_table(risk: dict[str, Any]) -> list[str]:
    s, b = risk.get("strategy") or {}, risk.get("benchmark") or {}
    trades = s.get("trades") or {}
    dsr = risk.get("deflated_sharpe") or {}
    rows = [
        ("Total return", _pct(risk.get("total_return")), _pct(risk.get("benchmark_total_return"))),
        ("CAGR", _pct(s.get("cagr")), _pct(b.get("cagr"))),
        ("Annualised volatility", _pct(s.get("volatility")), _pct(b.get("volatility"))),
        ("Sharpe (rf 0)", _f(s.get("sharpe"), 2), _f(b.get("sharpe"), 2)),
        ("Sortino", _f(s.get("sortino"), 2), _f(b.get("sortino"), 2)),
        ("Max drawdown", _pct(s.get("max_drawdown")), _pct(b.get("max_drawdown"))),
        (
            "Max drawdown duration (trading days)",
            str(s.get("max_drawdown_duration")),
            str(b.get("max_drawdown_duration")),
        ),
        ("Calmar", _f(s.get("calmar"), 2), _f(b.get("calmar"), 2)),
        ("Exposure", _pct(s.get("exposure")), _pct(b.get("exposure"))),
        ("Turnover (x equity a year)", _f(s.get("turnover"), 1), "0"),
        ("Trades", f"{trades.get('n_trades', 0):,}", "-"),
        ("Win rate", _pct(trades.get("win_rate")), "-"),
        ("Profit factor", _f(trades.get("profit_factor"), 2), "-"),
        ("Expectancy per trade (Rs)", _f(trades.get("expectancy"), 0), "-"),
        ("Average win / loss (Rs)", f"{_f(trades.get('average_win'), 0)} / {_f(trades.get('average_loss'), 0)}", "-"),
        ("Costs paid (Rs)", _f(risk.get("costs_total"), 0), "-"),
        (f"Deflated Sharpe ({dsr.get('n_trials')} trial(s))", _f(dsr.get("dsr"), 4), "-"),
    ]
    return ["| | Strategy | Equal-weight buy and hold |", "|---|---:|---:|"] + [
        f"| {a} | {x} | {y} |" for a, x, y in rows
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report_json", type=Path)
    data = json.loads(parser.parse_args().report_json.read_text())
    wf = data.get("walk_forward")
    if wf:
        print("### Folds\n")
        print("\n".join(folds_table(wf["folds"])))
        f1 = wf["summary"]["f1"]
        print(
            f"\nMean F1 {_f(f1['mean'])}, std {_f(f1['std'])}; consistency {_pct(f1['consistency'], 0)} "
            f"({f1['above_target']} of {f1['n_folds']} folds >= {f1['target']}); {f1['trend']['verdict']}\n"
        )
    print("### Prediction metrics\n")
    print("\n".join(periods_table(data["prediction_metrics"])))
    print("\n### Trading\n")
    print("\n".join(risk_table(data["risk"])))
    print("\nEngine counts:", json.dumps(data["backtest"]["counts"].get("engine", {})))
    print("Timings:", json.dumps(data["backtest"]["timings"]))


if __name__ == "__main__":
    main()
