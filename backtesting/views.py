"""Staff pages of backtesting: lists and details of backtests, walk-forwards and comparisons, and the
report (inline, as a download, and as JSON). Reads go through ``backtesting.selectors``.
"""

from __future__ import annotations

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from backtesting import caveats, report, selectors, services, tasks
from backtesting.forms import BacktestForm, ComparisonForm, in_sample_overlap
from backtesting.models import BacktestRun

LIST_LIMIT = 100


def _backtest_or_404(pk: int) -> BacktestRun:
    run = selectors.backtest_get(pk=pk)
    if run is None:
        raise Http404(f"no backtest {pk}")
    return run


@staff_member_required
def backtest_list(
    request: HttpRequest, backtest_form: BacktestForm | None = None, comparison_form: ComparisonForm | None = None
) -> HttpResponse:
    return render(
        request,
        "staff/backtest_list.html",
        {
            "backtests": selectors.backtest_list()[:LIST_LIMIT],
            "walk_forwards": selectors.walk_forward_list()[:LIST_LIMIT],
            "comparisons": selectors.comparison_list()[:LIST_LIMIT],
            "backtest_form": backtest_form or BacktestForm(),
            "comparison_form": comparison_form or ComparisonForm(),
        },
        status=400 if (backtest_form or comparison_form) else 200,
    )


def _queued(request: HttpRequest, what: str, warnings: list[str | None]) -> HttpResponseRedirect:
    for warning in filter(None, warnings):
        messages.warning(request, warning)
    messages.success(request, f"{what} is queued: its row below shows its status; refresh to follow it.")
    return HttpResponseRedirect(reverse("staff:backtests"))


@require_POST
@staff_member_required
def backtest_start(request: HttpRequest) -> HttpResponse:
    """Claim a backtest of a registered version and run it on a worker."""
    form = BacktestForm(request.POST)
    if not form.is_valid():
        return backtest_list(request, backtest_form=form)
    version, start, end = form.cleaned_data["version"], form.cleaned_data["start"], form.cleaned_data["end"]
    try:
        run = services.backtest_create(version=version, start=start, end=end)
    except services.BacktestError as exc:
        form.add_error(None, str(exc))
        return backtest_list(request, backtest_form=form)
    tasks.backtest_dispatch(run_id=run.pk)
    return _queued(request, f"Backtest {run.pk}", [in_sample_overlap(version, start=start, end=end)])


@require_POST
@staff_member_required
def comparison_start(request: HttpRequest) -> HttpResponse:
    """Claim a comparison of two registered versions on the same days and run it on a worker."""
    form = ComparisonForm(request.POST)
    if not form.is_valid():
        return backtest_list(request, comparison_form=form)
    data = form.cleaned_data
    try:
        run = services.comparison_create(
            a=services.Contender(version=data["version_a"]),
            b=services.Contender(version=data["version_b"]),
            start=data["start"],
            end=data["end"],
        )
    except services.BacktestError as exc:
        form.add_error(None, str(exc))
        return backtest_list(request, comparison_form=form)
    tasks.comparison_dispatch(run_id=run.pk)
    overlaps = [in_sample_overlap(data[k], start=data["start"], end=data["end"]) for k in ("version_a", "version_b")]
    return _queued(request, f"Comparison {run.pk}", overlaps)


@staff_member_required
def backtest_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _backtest_or_404(pk)
    return render(
        request,
        "staff/backtest_detail.html",
        {
            "run": run,
            "risk": run.risk or {},
            "deflated": (run.risk or {}).get("deflated_sharpe") or {},
            "sample": caveats.backtest_sample_note(run),
            "synthetic": caveats.synthetic_market_caveat(),
        },
    )


# The report is one self-contained HTML file (plotly.js and its data inline), shown in the staff page's
# iframe: this view alone may be framed by this site and run inline scripts.
@xframe_options_sameorigin
@csp_replace({"script-src": [SELF, UNSAFE_INLINE]})  # type: ignore[arg-type]
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
