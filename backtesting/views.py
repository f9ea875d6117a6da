"""Staff pages of backtesting: lists and details of backtests, walk-forwards and comparisons, and the
report (inline, as a download, and as JSON). Reads go through ``backtesting.selectors``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from backtesting import report, selectors
from backtesting.models import BacktestRun, ComparisonRun

LIST_LIMIT = 100

# Rows of the comparison table: (part, scorer, metric, label).
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
)


def _backtest_or_404(pk: int) -> BacktestRun:
    run = selectors.backtest_get(pk=pk)
    if run is None:
        raise Http404(f"no backtest {pk}")
    return run


@staff_member_required
def backtest_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "staff/backtest_list.html",
        {
            "backtests": selectors.backtest_list()[:LIST_LIMIT],
            "walk_forwards": selectors.walk_forward_list()[:LIST_LIMIT],
            "comparisons": selectors.comparison_list()[:LIST_LIMIT],
        },
    )


@staff_member_required
def backtest_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _backtest_or_404(pk)
    return render(
        request,
        "staff/backtest_detail.html",
        {"run": run, "risk": run.risk or {}, "deflated": (run.risk or {}).get("deflated_sharpe") or {}},
    )


@staff_member_required
def backtest_report(request: HttpRequest, pk: int) -> HttpResponse:
    """The self-contained HTML report; ``?download=1`` serves it as a file."""
    run = _backtest_or_404(pk)
    response = HttpResponse(report.render_report(run), content_type="text/html; charset=utf-8")
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="backtest-{run.pk}-report.html"'
    return response


@staff_member_required
def backtest_report_json(request: HttpRequest, pk: int) -> JsonResponse:
    run = _backtest_or_404(pk)
    response = JsonResponse(report.report_json(run), json_dumps_params={"indent": 1})
    response["Content-Disposition"] = f'attachment; filename="backtest-{run.pk}.json"'
    return response


@staff_member_required
def walk_forward_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = selectors.walk_forward_get(pk=pk)
    if run is None:
        raise Http404(f"no walk-forward {pk}")
    return render(
        request,
        "staff/backtest_walkforward.html",
        {
            "run": run,
            "folds": selectors.walk_forward_folds(run=run),
            "backtest": selectors.walk_forward_backtest(run=run),
            "summary": run.summary or {},
        },
    )


def _comparison_rows(run: ComparisonRun) -> list[dict[str, Any]]:
    metrics = run.metrics or {}
    rows = []
    for part, scorer, key, label in COMPARED:
        values = []
        for side in ("a", "b"):
            block = metrics.get(side) or {}
            k = block.get("k", 20)
            section = block.get(part) or {}
            scores = section.get("model") if scorer == "model" else (section.get("baselines") or {}).get(scorer)
            values.append((scores or {}).get(f"precision_at_{k}" if key == "precision_at_k" else key))
        a, b = values
        better = None
        if isinstance(a, int | float) and isinstance(b, int | float) and scorer == "model" and a != b:
            better = "a" if a > b else "b"
        rows.append({"label": label, "a": a, "b": b, "better": better})
    return rows


@staff_member_required
def comparison_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = selectors.comparison_get(pk=pk)
    if run is None:
        raise Http404(f"no comparison {pk}")
    return render(
        request,
        "staff/backtest_comparison.html",
        {"run": run, "rows": _comparison_rows(run), "mcnemar": run.mcnemar or {}, "bootstrap": run.bootstrap or {}},
    )
