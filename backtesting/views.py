"""Staff pages of backtesting: lists and details of backtests, walk-forwards and comparisons, and the
report (inline, as a download, and as JSON). Reads go through ``backtesting.selectors``.
"""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from backtesting import report, selectors
from backtesting.models import BacktestRun

LIST_LIMIT = 100


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


@staff_member_required
def comparison_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = selectors.comparison_get(pk=pk)
    if run is None:
        raise Http404(f"no comparison {pk}")
    return render(
        request,
        "staff/backtest_comparison.html",
        {
            "run": run,
            "rows": report.comparison_rows(run),
            "mcnemar": run.mcnemar or {},
            "bootstrap": run.bootstrap or {},
        },
    )
