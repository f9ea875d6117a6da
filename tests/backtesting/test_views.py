from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import plotly.graph_objects as go
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from backtesting import services, tasks
from backtesting.fold_training import FoldConfig
from backtesting.models import BacktestRun, ComparisonRun, WalkForwardRun
from backtesting.report import plotly_js
from marketdata.synthetic import SyntheticMarket
from tests.factories import register_version

pytestmark = pytest.mark.django_db

DESIGN = services.WalkForwardDesign(start=dt.date(2021, 9, 1), folds=3, train_days=120, test_days=20)


@pytest.fixture
def staff(client: Client) -> Client:
    user = get_user_model().objects.create_superuser("staff", "staff@example.com", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def walk_forward(
    market: SyntheticMarket, eager_celery: None, django_capture_on_commit_callbacks: Any
) -> WalkForwardRun:
    with django_capture_on_commit_callbacks(execute=True):
        run = services.walk_forward_create(design=DESIGN, fold_config=FoldConfig(rounds=10, valid_dates=20))
        tasks.walk_forward_dispatch(run_id=run.pk)
    run.refresh_from_db()
    return run


def test_backtest_pages_need_a_staff_login(client: Client) -> None:
    for url in (reverse("staff:backtests"), reverse("staff:backtest-report", args=[1])):
        response = client.get(url)
        assert response.status_code == 302
        assert reverse("admin:login") in response["Location"]


@pytest.mark.slow
def test_list_detail_and_walk_forward_pages_show_the_runs(staff: Client, walk_forward: WalkForwardRun) -> None:
    backtest = BacktestRun.objects.get(walk_forward=walk_forward)
    listing = staff.get(reverse("staff:backtests")).content.decode()
    assert reverse("staff:backtest", args=[backtest.pk]) in listing
    assert reverse("staff:walk-forward", args=[walk_forward.pk]) in listing
    detail = staff.get(reverse("staff:backtest", args=[backtest.pk])).content.decode()
    assert f'<iframe id="report-frame" src="{reverse("staff:backtest-report", args=[backtest.pk])}"' in detail
    assert "?download=1" in detail
    assert reverse("staff:backtest-report-json", args=[backtest.pk]) in detail
    page = staff.get(reverse("staff:walk-forward", args=[walk_forward.pk])).content.decode()
    for fold in walk_forward.fold_rows.all():
        assert f"{fold.test_start} to {fold.test_end}" in page
    assert "Consistency" in page
    assert staff.get(reverse("staff:walk-forward", args=[999])).status_code == 404
    assert staff.get(reverse("staff:backtest", args=[999])).status_code == 404


@pytest.mark.slow
def test_the_report_is_self_contained_with_every_section_and_a_json_export(
    staff: Client, walk_forward: WalkForwardRun
) -> None:
    backtest = BacktestRun.objects.get(walk_forward=walk_forward)
    response = staff.get(reverse("staff:backtest-report", args=[backtest.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert plotly_js()[:2000] in html  # Plotly inlined from the installed package
    outside_plotly = html.replace(plotly_js(), "")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", outside_plotly)  # nothing fetched
    for heading in ("Equity against the benchmark", "Drawdown", "Monthly returns", "Prediction metrics per year",
                    "Per quarter", "Walk-forward folds", "Feature importance", "Trades", "Risk"):  # fmt: skip
        assert heading in html
    figures = json.loads(re.search(r'id="report-figures"[^>]*>(.*?)</script>', html, re.S).group(1))  # type: ignore[union-attr]
    assert set(figures) == {"fig-equity", "fig-drawdown", "fig-monthly", "fig-folds", "fig-importance"}
    for figure in figures.values():
        go.Figure(figure)  # a valid Plotly figure
    trades = json.loads(re.search(r'id="report-trades"[^>]*>(.*?)</script>', html, re.S).group(1))  # type: ignore[union-attr]
    assert len(trades["rows"]) == backtest.n_trades
    download = staff.get(reverse("staff:backtest-report", args=[backtest.pk]), {"download": "1"})
    assert download["Content-Disposition"] == f'attachment; filename="backtest-{backtest.pk}-report.html"'
    # The JSON export holds the same run: metrics, risk, series, trades and folds.
    response = staff.get(reverse("staff:backtest-report-json", args=[backtest.pk]))
    assert response["Content-Disposition"] == f'attachment; filename="backtest-{backtest.pk}.json"'
    data = json.loads(response.content)
    assert data["backtest"]["id"] == backtest.pk
    assert set(data["prediction_metrics"]) == {"overall", "year", "quarter"}
    assert data["risk"]["strategy"]["sharpe"] == backtest.sharpe
    assert len(data["series"]["equity"]) == len(data["series"]["dates"])
    assert [f["index"] for f in data["walk_forward"]["folds"]] == [0, 1, 2]


def test_comparison_page_and_admin_show_the_runs(staff: Client, market: SyntheticMarket) -> None:
    a, b = register_version(seed=0), register_version(seed=1)
    run = services.comparison_run(
        a=services.Contender(version=a),
        b=services.Contender(version=b),
        start=dt.date(2021, 10, 1),
        end=dt.date(2021, 12, 31),
        n_boot=20,
    )
    page = staff.get(reverse("staff:comparison", args=[run.pk])).content.decode()
    assert "McNemar" in page
    assert "B right" in page
    assert "Bootstrap" in page
    assert run.label_a in page
    assert staff.get(reverse("staff:comparison", args=[999])).status_code == 404
    for model in ("backtestrun", "walkforwardrun", "comparisonrun"):
        assert staff.get(reverse(f"admin:backtesting_{model}_changelist")).status_code == 200
    assert staff.get(reverse("admin:backtesting_comparisonrun_change", args=[run.pk])).status_code == 200
    assert ComparisonRun.objects.count() == 1
