"""A backtest page says which days are out-of-sample, warns when its period is not, carries a
synthetic-data caveat for a generated market, and shows its report whole."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from backtesting import caveats
from backtesting.choices import BacktestSource
from backtesting.models import BacktestRun
from common.choices import RunStatus
from marketdata.models import Instrument
from tests.factories import register_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client: Client) -> Client:
    client.force_login(get_user_model().objects.create_superuser("staff", "staff@example.com", "pw"))
    return client


def _backtest(start: dt.date, end: dt.date) -> BacktestRun:
    # register_version: trained 2020-01-01..2021-12-31, validated to 2022-06-30.
    version = register_version()
    return BacktestRun.objects.create(
        source=BacktestSource.MODEL_VERSION,
        model_version=version,
        start=start,
        end=end,
        model_key="k",
        fingerprint=f"{start}{end}",
        status=RunStatus.SUCCEEDED,
        trades={"columns": ["symbol", "pnl"], "rows": [["ABC", 1.5]]},
    )


def test_backtest_page_says_which_days_are_out_of_sample_and_warns_when_the_period_overlaps(staff: Client) -> None:
    run = _backtest(dt.date(2022, 3, 1), dt.date(2022, 12, 31))
    for url in (reverse("staff:backtest", args=[run.pk]), reverse("staff:backtest-report", args=[run.pk])):
        page = staff.get(url).content.decode()
        assert "validated to 2022-06-30: days from 2022-07-01 on are out-of-sample for it." in page
        assert 'id="in-sample-warning"' in page
        assert "2022-03-01 to 2022-12-31 overlaps it, so these results are in-sample" in page


def test_an_out_of_sample_backtest_has_no_in_sample_warning(staff: Client) -> None:
    run = _backtest(dt.date(2022, 7, 1), dt.date(2022, 12, 31))
    page = staff.get(reverse("staff:backtest", args=[run.pk])).content.decode()
    assert "days from 2022-07-01 on are out-of-sample" in page
    assert 'id="in-sample-warning"' not in page


def test_synthetic_market_reports_carry_a_caveat_and_real_ones_do_not(staff: Client) -> None:
    run = _backtest(dt.date(2022, 7, 1), dt.date(2022, 12, 31))
    Instrument.objects.create(symbol="RELIANCE", isin="INE002A01018")  # a real ISIN
    page = staff.get(reverse("staff:backtest", args=[run.pk])).content.decode()
    assert 'id="synthetic-caveat"' not in page
    Instrument.objects.create(symbol="ZENMASATEX", isin="INEZ08501013")  # marketdata.synthetic's ISIN
    for url in (reverse("staff:backtest", args=[run.pk]), reverse("staff:backtest-report", args=[run.pk])):
        page = staff.get(url).content.decode()
        assert 'id="synthetic-caveat"' in page
        assert "Synthetic data: 1 of 2 instruments come from the generated demo market" in page


def test_synthetic_caveat_counts_every_generated_instrument() -> None:
    assert caveats.synthetic_market_caveat() is None
    Instrument.objects.create(symbol="A", isin="INEV00001017")
    assert (caveats.synthetic_market_caveat() or "").startswith("Synthetic data: All instruments")


def test_embedded_report_is_sized_to_its_content_and_the_trades_table_scrolls(staff: Client) -> None:
    run = _backtest(dt.date(2022, 7, 1), dt.date(2022, 12, 31))
    page = staff.get(reverse("staff:backtest", args=[run.pk])).content.decode()
    assert 'id="report-frame"' in page
    assert "height:1600px" not in page  # the old fixed height cut the report off at the Risk table
    assert "contentDocument.documentElement.scrollHeight" in page
    assert '<script nonce="' in page  # allowed by the page's CSP
    report = staff.get(reverse("staff:backtest-report", args=[run.pk])).content.decode()
    assert '<div id="trades-wrap"><table id="trades">' in report
    assert "#trades-wrap { overflow:auto;" in report


def test_version_choices_say_where_out_of_sample_starts(staff: Client) -> None:
    register_version()
    page = staff.get(reverse("staff:backtests")).content.decode()
    assert "validated to 2022-06-30; out-of-sample from 2022-07-01" in page
