"""The promotion gate: scored on sessions neither model saw, lift over "hit today" with an interval."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from marketdata.selectors import trading_dates
from marketdata.services import bars_upsert
from marketdata.synthetic import generate_market
from modelregistry.gate import challenger_verdict, seen_until
from modelregistry.models import ModelVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_versions() -> tuple[ModelVersion, ModelVersion]:
    synthetic = generate_market(stocks=80, days=420, seed=3, end=dt.date(2024, 6, 28))
    bars_upsert(frame=synthetic.bars, exchange="NSE")
    dates = trading_dates()
    for train_end, valid_end in ((dates[300], dates[330]), (dates[320], dates[350])):
        call_command(
            "train_model",
            "--algorithm",
            "lightgbm",
            "--train-end",
            str(train_end),
            "--valid-end",
            str(valid_end),
            "--rounds",
            "40",
            "--no-progress",
            stdout=StringIO(),
        )
    older, newer = ModelVersion.objects.order_by("version")
    return older, newer


def test_gate_scores_only_sessions_after_both_models_last_seen_day(
    two_versions: tuple[ModelVersion, ModelVersion],
) -> None:
    older, newer = two_versions
    verdict = challenger_verdict(older, newer, sessions=60, min_sessions=20, n_boot=200)
    dates = trading_dates()
    cutoff = max(seen_until(older), seen_until(newer))
    assert cutoff == newer.valid_end
    unseen = [d for d in dates if d > cutoff][:-1]  # the last bar has no label yet
    assert verdict.sessions == min(60, len(unseen))
    assert verdict.first_day == str(unseen[-verdict.sessions])
    assert verdict.last_day == str(unseen[-1])
    assert verdict.lift == pytest.approx(verdict.candidate_pr_auc - verdict.hit_today_pr_auc)
    assert verdict.lift_low <= verdict.lift <= verdict.lift_high
    assert verdict.vs_production == pytest.approx(verdict.candidate_pr_auc - verdict.production_pr_auc)
    assert verdict.passed == (verdict.lift_low > 0 and verdict.vs_production >= 0)
    assert ("Gate passed" if verdict.passed else "Not promoted") in verdict.reason


def test_gate_refuses_when_too_few_sessions_are_unseen(two_versions: tuple[ModelVersion, ModelVersion]) -> None:
    older, newer = two_versions
    verdict = challenger_verdict(older, newer, sessions=60, min_sessions=80)
    assert not verdict.passed
    assert verdict.rows == 0
    assert f"after {newer.valid_end} that neither model trained or validated on" in verdict.reason


def test_gate_refuses_a_model_of_another_feature_set(two_versions: tuple[ModelVersion, ModelVersion]) -> None:
    older, newer = two_versions
    ModelVersion.objects.filter(pk=older.pk).update(feature_set_hash="0" * 64)
    older.refresh_from_db()
    verdict = challenger_verdict(older, newer)
    assert not verdict.passed
    assert "another feature set" in verdict.reason


def test_promote_confirmation_compares_both_versions_on_the_gates_same_days(
    two_versions: tuple[ModelVersion, ModelVersion], admin_client: Any
) -> None:
    from django.urls import reverse

    from modelregistry import services

    older, newer = two_versions
    services.model_version_promote(version=newer, actor=None, reason="production first")
    verdict = challenger_verdict(older, newer, n_boot=200)
    page = admin_client.get(reverse("admin:modelregistry_modelversion_promote", args=[older.pk])).content.decode()
    assert 'id="same-days-compare"' in page
    assert f"latest {verdict.sessions} sessions neither trained nor validated on" in page
    assert f"<td>PR-AUC</td><td>{verdict.candidate_pr_auc:.3f}</td><td>{verdict.production_pr_auc:.3f}</td>" in page
    assert f"{verdict.vs_production:+.3f} (95% day-block interval" in page
