"""Staff pages of monitoring: the dashboard, plotly.js from the installed package, and "run a check now"."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import plotly
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from common.tracing import bind_to_current_context
from marketdata.selectors import latest_bar_date
from modelregistry.selectors import model_version_production
from monitoring import charts, selectors, tasks

logger = logging.getLogger("vcp.monitoring.views")

CHECKS = {"drift": tasks.check_drift, "degradation": tasks.check_degradation}
# Checks that may roll production back, and the permission that allows it (as promoting does).
ROLLBACK_CHECKS = frozenset({"degradation"})
PROMOTE_PERMISSION = "modelregistry.promote_modelversion"


@lru_cache(maxsize=1)
def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


@require_GET
def plotly_js(request: HttpRequest) -> HttpResponse:
    """plotly.min.js of the installed plotly package: the servers have no internet, so no CDN.

    The page asks for it with the package version in the query string, so it can be cached for a year."""
    response = HttpResponse(_plotly_js(), content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


def _nonced(request: HttpRequest, fragment: str) -> str:
    """A Plotly fragment's inline script, carrying this response's CSP nonce (scripts without it are blocked)."""
    # django-csp's lazy nonce is falsy until first read, so read it with str(), never test it with bool().
    lazy = getattr(request, "csp_nonce", None)
    nonce = str(lazy) if lazy is not None else ""
    return fragment.replace("<script>", f'<script nonce="{nonce}">') if nonce else fragment


@staff_member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    version = model_version_production()
    drift = selectors.drift_reports(version=version).first() if version is not None else None
    trend = selectors.performance_trend(limit=90)
    # Production's latest report; right after a rollback, the report that caused it (why it fired).
    latest_performance = next(
        (r for r in reversed(trend) if r.model_version_id == getattr(version, "pk", None) and r.labelled_dates),
        trend[-1] if trend else None,
    )
    points = [
        charts.F1Point(
            as_of=r.as_of,
            version=r.model_version.label,
            realised_f1=r.f1,
            estimated_f1=r.estimated_f1,
            reference_f1=r.reference_f1,
            action=r.action,
        )
        for r in trend
    ]
    drift_result = drift.drift_result() if drift is not None else None
    context = {
        "version": version,
        "test_f1": version.metric("f1") if version is not None else None,
        "test_f1_new": version.metric("f1", part="new_circuits") if version is not None else None,
        "batch": selectors.batch_run_latest(),
        "today": timezone.localdate(),
        "drift": drift,
        "drift_features": sorted(drift_result.features, key=lambda f: -f.psi) if drift_result else [],
        "drift_min_rows": drift_result.min_rows if drift_result else None,
        "drift_chart": _nonced(request, charts.drift_chart(drift_result)) if drift_result else "",
        "performance": latest_performance,
        "f1_chart": _nonced(request, charts.f1_trend_chart(points)) if points else "",
        "alerts": list(selectors.alerts_open()[:50]),
        "plotly_version": plotly.__version__,
        "drift_excluded": drift_result.excluded if drift_result else {},
        "rules": {
            "drift_k": settings.VCP_DRIFT_PERSIST_K,
            "drift_n": settings.VCP_DRIFT_PERSIST_N,
            "drift_window": settings.VCP_DRIFT_WINDOW_DAYS,
            "lift_keep": round((1 - settings.VCP_DEGRADATION_LIFT_DROP) * 100),
            "deg_k": settings.VCP_DEGRADATION_PERSIST_K,
            "deg_n": settings.VCP_DEGRADATION_PERSIST_N,
            "deg_window": settings.VCP_DEGRADATION_WINDOW_DAYS,
        },
    }
    return render(request, "staff/dashboard.html", context)


@require_POST
@staff_member_required
def run_check(request: HttpRequest, check: str) -> HttpResponse:
    """Queue a drift or degradation check now, with this request's trace id carried into the task.

    The degradation check can roll production back, so it needs the permission to promote
    (``modelregistry.promote_modelversion``), not only staff status."""
    task = CHECKS.get(check)
    if task is None:
        return HttpResponse(status=404)
    if check in ROLLBACK_CHECKS and not request.user.has_perm(PROMOTE_PERMISSION):
        logger.warning("check_%s refused for %s", check, request.user.get_username(), extra={"check": check})
        return HttpResponseForbidden(
            f"The {check} check can roll production back: it needs the permission to promote model versions.",
            content_type="text/plain",
        )
    # As of the latest bars, so a check asked for on a weekend runs on Friday's data.
    latest = latest_bar_date() or timezone.localdate()
    kwargs = {"day": latest.isoformat()}
    if check in ROLLBACK_CHECKS:
        kwargs["actor"] = request.user.get_username()  # a rollback it makes is recorded as this user's
    if task.app.conf.task_always_eager:
        # No broker (the demo): the check runs in this request, so say what it found, not "queued".
        _run_inline(request, check, run=bind_to_current_context(task.delay, **kwargs))
    else:
        transaction.on_commit(bind_to_current_context(task.delay, **kwargs))
        logger.info("check_%s queued by %s", check, request.user.get_username(), extra={"check": check})
        messages.info(request, f"The {check} check is queued on a worker; refresh in a minute to see its result.")
    return HttpResponseRedirect(reverse("staff:dashboard"))


def _run_inline(request: HttpRequest, check: str, *, run: Callable[[], Any]) -> None:
    """Run an eager check now and leave a message with its outcome (or its error)."""
    try:
        result = run()
        outcome = result.get() if hasattr(result, "get") else result
    except Exception as exc:  # the check's own error, shown to the user who asked for it
        logger.exception("check_%s failed inline", check, extra={"check": check})
        messages.error(request, f"The {check} check ran just now and failed: {exc}")
        return
    logger.info("check_%s ran inline for %s", check, request.user.get_username(), extra={"check": check})
    messages.success(request, f"The {check} check ran just now (no task queue here): {_outcome_text(outcome)}.")


def _outcome_text(outcome: Any) -> str:
    """A check task's result dict in words: "status ok, as of 2024-05-10", "skipped: a holiday"."""
    if not isinstance(outcome, dict):
        return "done"
    status = outcome.get("status", "done")
    if status == "none":
        status = "no action needed"
    if status == "skipped":
        return f"skipped: {outcome.get('reason', 'no reason given')}"
    day = outcome.get("as_of") or outcome.get("date")
    parts = [f"result {status}" + (f" as of {day}" if day else "")]
    if outcome.get("pr_auc_lift") is not None:
        parts.append(f"PR-AUC lift over 'hit today' {outcome['pr_auc_lift']:+.3f}")
    if outcome.get("f1") is not None:
        parts.append(f"realised F1 {outcome['f1']:.3f}")
    return ", ".join(parts)
