"""The dashboard's "today's ranked candidates" and what the run-now buttons say they did."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse

from common.choices import RunStatus
from marketdata.models import Instrument
from modelregistry.models import ModelVersion
from monitoring.models import PerformanceReport
from predictions.models import BatchRun, Prediction
from tests.monitoring.conftest import SeededWindow

pytestmark = pytest.mark.django_db

DAY = dt.date(2024, 3, 1)


def _batch_with_predictions(version: ModelVersion, n: int = 30) -> BatchRun:
    """A batch of ``n`` predictions: stock Sxx has probability xx/100; every third one was locked today
    (no new-circuit probability), the others have a new-circuit probability of (100 - xx)/100."""
    batch = BatchRun.objects.create(
        date=DAY, model_version=version, status=RunStatus.SUCCEEDED, instruments=n, scored=n
    )
    for i in range(n):
        locked_today = i % 3 == 0
        Prediction.objects.create(
            instrument=Instrument.objects.create(symbol=f"S{i:02d}"),
            date=DAY,
            model_version=version,
            probability=i / 100,
            will_hit=i >= 25,
            threshold=0.25,
            new_circuit_probability=None if locked_today else (100 - i) / 100,
            will_hit_new=not locked_today and i < 5,
            rank=n - i,
            series="EQ",
            batch_run=batch,
        )
    return batch


def test_dashboard_lists_the_latest_batch_top_20_and_the_top_new_circuit_candidates(
    admin_client: Any, two_versions: tuple[ModelVersion, ModelVersion]
) -> None:
    _batch_with_predictions(two_versions[1])
    page = admin_client.get(reverse("staff:dashboard")).content.decode()
    assert "Today's ranked candidates" in page
    top = page[page.index('id="candidates-top"') : page.index('id="candidates-new"')]
    fresh = page[page.index('id="candidates-new"') :]
    fresh = fresh[: fresh.index("</table>")]
    # Top 20 by probability: S29 (0.29) down to S10 (0.10), in that order; S09 is 21st.
    symbols = [f"S{i:02d}" for i in range(29, 9, -1)]
    positions = [top.index(f"<td>{s}</td>") for s in symbols]
    assert positions == sorted(positions)
    assert "<td>S09</td>" not in top
    assert '<td class="num">0.2900</td>' in top
    # New circuits by new-circuit probability: S01 (0.99), S02, S04, ... never a stock locked today.
    assert fresh.index("<td>S01</td>") < fresh.index("<td>S02</td>") < fresh.index("<td>S04</td>")
    assert "<td>S00</td>" not in fresh
    assert "<td>S03</td>" not in fresh
    assert fresh.count("<tr>") == 1 + 10  # header + top 10
    assert '<td class="num">0.9900</td>' in fresh


def test_dashboard_without_a_batch_says_how_to_score(admin_client: Any) -> None:
    page = admin_client.get(reverse("staff:dashboard")).content.decode()
    assert "No batch yet: run <code>python manage.py score_universe</code>." in page


def test_degradation_button_says_it_ran_and_what_it_found_when_tasks_run_inline(
    admin_client: Any,
    eager_celery: None,
    two_versions: tuple[ModelVersion, ModelVersion],
    seed_window: Callable[..., SeededWindow],
    settings: Any,
) -> None:
    settings.VCP_DEGRADATION_MIN_POSITIVES = 10_000  # keep v2 in production: this test is about the message
    seed_window(two_versions[1], tp=50, fp=50, fn=50)
    response = admin_client.post(reverse("staff:run_check", args=["degradation"]), follow=True)
    page = response.content.decode()
    report = PerformanceReport.objects.get()
    assert "The degradation check ran just now (no task queue here)" in page
    assert f"as of {report.as_of}" in page
    assert report.f1 is not None
    assert report.pr_auc_lift is not None
    assert f"PR-AUC lift over &#x27;hit today&#x27; {report.pr_auc_lift:+.3f}" in page
    assert f"realised F1 {report.f1:.3f}" in page
    assert "queued" not in page


def test_check_button_says_queued_when_a_worker_runs_it(
    admin_client: Any, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    from monitoring import views
    from vcp_platform.celery import app

    queued: list[dict[str, Any]] = []
    monkeypatch.setattr(views.CHECKS["drift"], "delay", lambda **kw: queued.append(kw))
    saved, app.conf.task_always_eager = app.conf.task_always_eager, False  # a broker: tasks go to workers
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(reverse("staff:run_check", args=["drift"]), follow=True)
    finally:
        app.conf.task_always_eager = saved
    assert len(queued) == 1
    assert "The drift check is queued on a worker; refresh in a minute" in response.content.decode()


def test_a_check_that_fails_inline_shows_its_error(
    admin_client: Any, eager_celery: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitoring import views

    def broken(**_: Any) -> None:
        raise RuntimeError("no snapshots for the window")

    monkeypatch.setattr(views.CHECKS["drift"], "delay", broken)
    page = admin_client.post(reverse("staff:run_check", args=["drift"]), follow=True).content.decode()
    assert "The drift check ran just now and failed: no snapshots for the window" in page
