"""The backtest report: one self-contained HTML page (Plotly inlined, no network) and its JSON export.

The page is rendered from ``templates/backtesting/report.html`` with the stored results of one
``BacktestRun`` (and, for a walk-forward's backtest, its folds). It holds the equity curve against
the buy-and-hold benchmark, the drawdowns, a monthly returns heatmap, the per-year and per-quarter
prediction metrics next to the naive baselines, the walk-forward fold metrics over time, the
feature importance, the risk table and a sortable trade-by-trade table.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import plotly.graph_objects as go
from django.template.loader import render_to_string
from django.utils import timezone

from backtesting import caveats, selectors
from backtesting.jsonify import jsonable
from backtesting.models import BacktestRun, ComparisonRun, WalkForwardFold, WalkForwardRun
from modelregistry.evaluation import truths_rows

PLOT_CONFIG = {"responsive": True, "displaylogo": False}
_LAYOUT: dict[str, Any] = {
    "margin": {"l": 60, "r": 20, "t": 40, "b": 40},
    "height": 360,
    "hovermode": "x unified",
    "legend": {"orientation": "h", "y": -0.15},
    "template": "plotly_white",
}
_PERIOD_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    # (part, scorer, metric, heading)
    ("all", "model", "f1", "F1"),
    ("all", "model", "precision", "Precision"),
    ("all", "model", "recall", "Recall"),
    ("all", "model", "pr_auc", "PR-AUC"),
    ("all", "model", "precision_at_k", "P@k"),
    ("all", "hit_today", "f1", "Hit today F1"),
    ("all", "hit_today", "pr_auc", "Hit today PR-AUC"),
    ("all", "momentum_top_k", "pr_auc", "Momentum PR-AUC"),
    ("new_circuits", "model", "pr_auc", "New circuits PR-AUC"),
    ("new_circuits", "momentum_top_k", "pr_auc", "New circuits momentum PR-AUC"),
    ("new_circuits", "model", "f1", "New circuits F1"),
    ("series_eq", "model", "pr_auc", "EQ PR-AUC"),
    ("truths.strict.all", "model", "pr_auc", "Strict PR-AUC"),
    ("truths.strict.all", "hit_today", "pr_auc", "Strict hit today PR-AUC"),
    ("truths.strict.all", "count_5d", "pr_auc", "Strict count 5d PR-AUC"),
    ("truths.lock.all", "model", "pr_auc", "Lock PR-AUC"),
    ("truths.lock.all", "hit_today", "pr_auc", "Lock hit today PR-AUC"),
    ("truths.lock.all", "count_5d", "pr_auc", "Lock count 5d PR-AUC"),
)
_RISK_ROWS: tuple[tuple[str, str, str], ...] = (
    # (key, label, format)
    ("cagr", "CAGR", "pct"),
    ("volatility", "Annualised volatility", "pct"),
    ("sharpe", "Sharpe", "num"),
    ("sortino", "Sortino", "num"),
    ("max_drawdown", "Maximum drawdown", "pct"),
    ("max_drawdown_duration", "Max drawdown duration (trading days)", "int"),
    ("longest_drawdown_duration", "Longest time under water (trading days)", "int"),
    ("calmar", "Calmar", "num"),
    ("exposure", "Exposure (mean share of equity deployed)", "pct"),
    ("turnover", "Turnover (x equity per year)", "num"),
)


@functools.lru_cache(maxsize=1)
def plotly_js() -> str:
    """The installed plotly package's own plotly.min.js, inlined so the report needs no network."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _figure(fig: go.Figure) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(fig.to_json())
    return result


def _metric(block: dict[str, Any], part: str, scorer: str, key: str, k: int) -> float | None:
    """One metric of an ``evaluate``-shaped block; ``part`` "truths.<truth>.<slice>" reads a truth."""
    if part.startswith("truths."):
        _, truth, part = part.split(".")
        block = (block.get("truths") or {}).get(truth) or {}
    section = block.get(part) or {}
    values = section.get("model") if scorer == "model" else (section.get("baselines") or {}).get(scorer)
    if key == "precision_at_k":
        key = f"precision_at_{k}"
    value = (values or {}).get(key)
    return float(value) if isinstance(value, int | float) else None


def period_table(metrics: dict[str, Any], freq: str) -> dict[str, Any]:
    """Rows of the per-year or per-quarter table: period, rows, base rate and ``_PERIOD_COLUMNS``."""
    k = int((metrics.get("overall") or {}).get("k", 20))
    rows = []
    for block in [*(metrics.get(freq) or []), {"period": "All", **(metrics.get("overall") or {})}]:
        model = (block.get("all") or {}).get("model") or {}
        rows.append(
            {
                "period": block.get("period"),
                "rows": model.get("rows"),
                "positives": model.get("positives"),
                "base_rate": model.get("base_rate"),
                "cells": [_metric(block, part, scorer, key, k) for part, scorer, key, _ in _PERIOD_COLUMNS],
            }
        )
    headings = [h.replace("P@k", f"P@{k}") for *_, h in _PERIOD_COLUMNS]
    return {"headings": headings, "rows": rows}


def _equity_figure(series: dict[str, Any]) -> dict[str, Any]:
    fig = go.Figure()
    fig.add_scatter(x=series["dates"], y=series["equity"], name="Strategy (after costs)", mode="lines")
    fig.add_scatter(x=series["dates"], y=series["benchmark"], name="Equal-weight buy and hold", mode="lines")
    fig.update_layout(**_LAYOUT, title="Equity (Rs)", yaxis_title="Rs")
    return _figure(fig)


def _drawdown_figure(series: dict[str, Any]) -> dict[str, Any]:
    fig = go.Figure()
    fig.add_scatter(x=series["dates"], y=series["drawdown"], name="Strategy", fill="tozeroy", mode="lines")
    fig.add_scatter(x=series["dates"], y=series["benchmark_drawdown"], name="Buy and hold", mode="lines")
    fig.update_layout(**_LAYOUT, title="Drawdown from the running peak", yaxis_tickformat=".0%")
    return _figure(fig)


def _monthly_figure(series: dict[str, Any]) -> dict[str, Any]:
    monthly = series.get("monthly_returns") or {}
    values = monthly.get("values") or []
    text = [["" if v is None else f"{v:+.1%}" for v in row] for row in values]
    fig = go.Figure(
        go.Heatmap(
            z=values,
            x=monthly.get("months", []),
            y=[str(y) for y in monthly.get("years", [])],
            text=text,
            texttemplate="%{text}",
            colorscale="RdYlGn",
            zmid=0,
            colorbar={"tickformat": ".0%"},
            hovertemplate="%{y} %{x}: %{z:.2%}<extra></extra>",
        )
    )
    fig.update_layout(**{**_LAYOUT, "hovermode": "closest"}, title="Monthly returns of the strategy")
    fig.update_yaxes(autorange="reversed", type="category")
    return _figure(fig)


def _folds_figure(folds: list[WalkForwardFold], target: float) -> dict[str, Any]:
    done = [f for f in folds if f.f1 is not None]
    x = [str(f.test_start) for f in done]
    fig = go.Figure()
    fig.add_scatter(x=x, y=[f.f1 for f in done], name="Model F1", mode="lines+markers")
    fig.add_scatter(x=x, y=[f.pr_auc for f in done], name="Model PR-AUC", mode="lines+markers")
    fig.add_scatter(x=x, y=[f.hit_today_f1 for f in done], name="Hit today F1", mode="lines", line={"dash": "dot"})
    fig.add_scatter(
        x=x, y=[f.hit_today_pr_auc for f in done], name="Hit today PR-AUC", mode="lines", line={"dash": "dot"}
    )
    fig.add_scatter(x=x, y=[f.new_circuits_pr_auc for f in done], name="Model PR-AUC, new circuits", mode="lines")
    fig.add_hline(y=target, line_dash="dash", line_color="grey", annotation_text=f"target F1 {target:g}")
    fig.update_layout(**_LAYOUT, title="Walk-forward: test metrics per fold (by test month)", yaxis_range=[0, 1])
    return _figure(fig)


def _importance_figure(importance: dict[str, float]) -> dict[str, Any]:
    items = sorted(importance.items(), key=lambda item: item[1])
    fig = go.Figure(go.Bar(x=[v for _, v in items], y=[n for n, _ in items], orientation="h"))
    fig.update_layout(
        **{**_LAYOUT, "height": max(300, 22 * len(items) + 80), "hovermode": "closest"},
        title="Feature importance (share of total split gain)",
        xaxis_tickformat=".0%",
    )
    return _figure(fig)


def _risk_rows(risk: dict[str, Any]) -> list[dict[str, Any]]:
    strategy, bench = risk.get("strategy") or {}, risk.get("benchmark") or {}
    return [
        {"label": label, "fmt": fmt, "strategy": strategy.get(key), "benchmark": bench.get(key)}
        for key, label, fmt in _RISK_ROWS
    ]


def _folds_of(run: BacktestRun) -> tuple[WalkForwardRun | None, list[WalkForwardFold]]:
    wf = run.walk_forward
    return (wf, list(selectors.walk_forward_folds(run=wf))) if wf is not None else (None, [])


def report_context(run: BacktestRun) -> dict[str, Any]:
    """Everything the report template shows, from the stored run."""
    wf, folds = _folds_of(run)
    series = run.series or {}
    figures: dict[str, Any] = {}
    if series.get("dates"):
        figures["fig-equity"] = _equity_figure(series)
        figures["fig-drawdown"] = _drawdown_figure(series)
        figures["fig-monthly"] = _monthly_figure(series)
    if folds:
        figures["fig-folds"] = _folds_figure(folds, wf.target_f1 if wf else 0.65)
    if run.feature_importance:
        figures["fig-importance"] = _importance_figure(run.feature_importance)
    trades = run.trades or {"columns": [], "rows": []}
    return {
        "run": run,
        "walk_forward": wf,
        "folds": folds,
        "summary": (wf.summary if wf else {}) or {},
        "risk": run.risk or {},
        "risk_rows": _risk_rows(run.risk or {}),
        "trade_stats": (run.risk.get("strategy") or {}).get("trades") or {},
        "deflated": (run.risk or {}).get("deflated_sharpe") or {},
        "years": period_table(run.metrics, "year") if run.metrics else None,
        "truths": truths_rows((run.metrics or {}).get("overall") or {}),
        "quarters": period_table(run.metrics, "quarter") if run.metrics else None,
        "figures": figures,
        "plot_config": PLOT_CONFIG,
        "trades": trades,
        "config": json.dumps(run.config, indent=2, sort_keys=True),
        "plotly_js": plotly_js(),
        "generated_at": timezone.now(),
        "sample": caveats.backtest_sample_note(run),
        "synthetic": caveats.synthetic_market_caveat(),
    }


def render_report(run: BacktestRun) -> str:
    """The self-contained HTML report of ``run``."""
    return render_to_string("backtesting/report.html", report_context(run))


def report_json(run: BacktestRun) -> dict[str, Any]:
    """The report's data as JSON: configuration, metrics, risk, daily series, trades and folds."""
    wf, folds = _folds_of(run)
    return jsonable(
        {
            "backtest": {
                "id": run.pk,
                "source": run.source,
                "status": run.status,
                "start": run.start,
                "end": run.end,
                "model_version": run.model_version_id,
                "model_key": run.model_key,
                "config": run.config,
                "counts": run.counts,
                "timings": run.timings,
                "seconds": run.seconds,
                "error": run.error,
            },
            "prediction_metrics": run.metrics,
            "risk": run.risk,
            "series": run.series,
            "trades": run.trades,
            # jsonb keeps no key order: highest share first again.
            "feature_importance": dict(sorted((run.feature_importance or {}).items(), key=lambda kv: -kv[1])),
            "walk_forward": (
                {
                    "id": wf.pk,
                    "algorithm": wf.algorithm,
                    "feature_set": wf.feature_set,
                    "config": wf.config,
                    "summary": wf.summary,
                    "timings": wf.timings,
                    "folds": [
                        {
                            "index": f.index,
                            "status": f.status,
                            "train_start": f.train_start,
                            "train_end": f.train_end,
                            "valid_start": f.valid_start,
                            "test_start": f.test_start,
                            "test_end": f.test_end,
                            "embargo_end": f.embargo_end,
                            "threshold": f.threshold,
                            "metrics": f.metrics,
                            "rows": f.rows,
                            "seconds": f.seconds,
                            "error": f.error,
                        }
                        for f in folds
                    ],
                }
                if wf is not None
                else None
            ),
        }
    )


# Rows of a comparison's side-by-side table: (part, scorer, metric, label).
COMPARED: tuple[tuple[str, str, str, str], ...] = (
    ("all", "model", "f1", "F1"),
    ("all", "model", "precision", "Precision"),
    ("all", "model", "recall", "Recall"),
    ("all", "model", "pr_auc", "PR-AUC"),
    ("all", "model", "roc_auc", "ROC-AUC"),
    ("all", "model", "precision_at_k", "Precision@k per day"),
    ("new_circuits", "model", "pr_auc", "New circuits: PR-AUC"),
    ("new_circuits", "model", "f1", "New circuits: F1"),
    ("series_eq", "model", "pr_auc", "Series EQ: PR-AUC"),
    ("series_other", "model", "pr_auc", "Other series: PR-AUC"),
    ("all", "hit_today", "pr_auc", "Baseline hit today: PR-AUC"),
    ("all", "hit_today", "f1", "Baseline hit today: F1"),
    ("all", "momentum_top_k", "pr_auc", "Baseline momentum: PR-AUC"),
    ("truths.strict.all", "model", "pr_auc", "Strict truth: PR-AUC"),
    ("truths.strict.all", "model", "precision_at_k", "Strict truth: precision@k per day"),
    ("truths.strict.new_circuits", "model", "pr_auc", "Strict truth, new circuits: PR-AUC"),
    ("truths.strict.all", "hit_today", "pr_auc", "Strict truth: hit today PR-AUC"),
    ("truths.strict.all", "count_5d", "pr_auc", "Strict truth: count over 5 days PR-AUC"),
    ("truths.lock.all", "model", "pr_auc", "Lock truth: PR-AUC"),
    ("truths.lock.all", "model", "precision_at_k", "Lock truth: precision@k per day"),
    ("truths.lock.all", "hit_today", "pr_auc", "Lock truth: hit today PR-AUC"),
    ("truths.lock.all", "count_5d", "pr_auc", "Lock truth: count over 5 days PR-AUC"),
)


def comparison_rows(run: ComparisonRun) -> list[dict[str, Any]]:
    """``{"label", "a", "b", "better"}`` per ``COMPARED`` metric; ``better`` marks the higher model metric."""
    sides = [(run.metrics or {}).get(side) or {} for side in ("a", "b")]
    rows = []
    for part, scorer, key, label in COMPARED:
        a, b = (_metric(block, part, scorer, key, int(block.get("k", 20))) for block in sides)
        better = None
        if a is not None and b is not None and scorer == "model" and a != b:
            better = "a" if a > b else "b"
        rows.append({"label": label, "a": a, "b": b, "better": better})
    return rows
