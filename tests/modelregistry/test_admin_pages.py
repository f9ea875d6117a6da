"""What admin shows of a model version: links to the staff pages, a list that fits, readable detail,
rounded probabilities, and a promote confirmation that puts the candidate beside production."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from modelregistry import services
from modelregistry.admin import ModelVersionAdmin
from modelregistry.models import ModelVersion
from tests.factories import register_version

pytestmark = pytest.mark.django_db


def _with_truths(version: ModelVersion, *, strict_pr_auc: float) -> ModelVersion:
    """Add a ``truths`` block (the shape ``evaluation.evaluate_truths`` writes) to ``version``'s metrics."""
    section = {
        "model": {"pr_auc": strict_pr_auc, "precision_at_20": 0.2, "f1": 0.3, "positives": 40, "rows": 900},
        "baselines": {"hit_today": {"pr_auc": 0.1, "precision_at_20": 0.1}, "count_5d": {"pr_auc": 0.05}},
    }
    version.metrics = {**version.metrics, "truths": {"k": 20, "strict": {"all": section}}}
    ModelVersion.objects.filter(pk=version.pk).update(metrics=version.metrics)
    return version


def test_view_site_opens_the_staff_dashboard_and_admin_links_to_the_staff_pages(admin_client: Client) -> None:
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert '<a href="/staff/">View site</a>' in page
    assert f'href="{reverse("staff:dashboard")}">Staff dashboard</a>' in page
    assert f'href="{reverse("staff:backtests")}">Backtests</a>' in page
    # ... and the staff pages link back to admin.
    staff = admin_client.get(reverse("staff:dashboard")).content.decode()
    assert f'href="{reverse("admin:index")}">Admin</a>' in staff


def test_model_version_list_has_seven_short_columns_and_shows_key_metrics(admin_client: Client) -> None:
    register_version(pr_auc=0.365)
    assert len(ModelVersionAdmin.list_display) == 7  # with the checkbox: eight columns that fit 1400 px
    page = admin_client.get(reverse("admin:modelregistry_modelversion_changelist")).content.decode()
    assert "upper-circuit v1" in page
    assert "0.365" in page
    assert "2020-01-01<br>to 2021-12-31" in page
    headers = re.findall(r'<th scope="col"[^>]*>.*?<(?:a|span)[^>]*>([^<]*)<', page, flags=re.S)
    assert "PR-AUC" in headers
    assert "Trained on" in headers


def test_version_detail_shows_metrics_and_training_configuration_as_tables_not_json(admin_client: Client) -> None:
    version = _with_truths(register_version(threshold=0.123456789), strict_pr_auc=0.41)
    ModelVersion.objects.filter(pk=version.pk).update(
        training_config={"algorithm": "xgboost", "params": {"max_depth": 6, "eta": 0.05}}
    )
    page = admin_client.get(reverse("admin:modelregistry_modelversion_change", args=[version.pk])).content.decode()
    assert page.count('class="vcp-json"') >= 3  # metrics, three truths, configuration
    assert "<td>params.max_depth</td><td>6</td>" in page
    assert "<td>params.eta</td><td>0.0500</td>" in page
    assert "<td>PR-AUC</td><td>0.400</td>" in page
    assert "Strict (close = high" in page
    assert "0.410" in page
    assert "0.1235" in page
    assert "0.123456789" not in page
    assert '{"algorithm": "xgboost"' not in page
    assert "&quot;params&quot;" not in page


def _promote_page(client: Client, version: ModelVersion) -> str:
    response = client.get(reverse("admin:modelregistry_modelversion_promote", args=[version.pk]))
    assert response.status_code == 200
    return str(response.content.decode())


def test_promote_confirmation_puts_the_candidate_beside_production_and_warns_when_it_is_worse(
    admin_client: Client,
) -> None:
    current = _with_truths(register_version(seed=0, pr_auc=0.365), strict_pr_auc=0.30)
    services.model_version_promote(version=current, actor=None, reason="first")
    candidate = _with_truths(register_version(seed=1, pr_auc=0.336), strict_pr_auc=0.25)
    page = _promote_page(admin_client, candidate)
    assert "upper-circuit v2 (xgboost)" in page
    assert "upper-circuit v1 (xgboost)" in page
    assert "in production now" in page
    assert "<td>PR-AUC</td><td>0.336</td><td>0.365</td>" in page
    assert (
        "Strict (close = high, a round 2/5/10/20% move), all stock-days: PR-AUC</td><td>0.250</td><td>0.300</td>"
        in page
    )
    assert "upper-circuit v2 is worse than upper-circuit v1 on test PR-AUC: 0.336 against 0.365" in page


def test_promote_confirmation_says_nothing_alarming_when_the_candidate_is_better(admin_client: Client) -> None:
    current = register_version(seed=0, pr_auc=0.30)
    services.model_version_promote(version=current, actor=None, reason="first")
    page = _promote_page(admin_client, register_version(seed=1, pr_auc=0.40))
    assert "<td>PR-AUC</td><td>0.400</td><td>0.300</td>" in page
    assert "is worse than" not in page


def test_first_promotion_shows_the_candidate_alone(admin_client: Client) -> None:
    page = _promote_page(admin_client, register_version())
    assert "in production now" not in page
    assert "<td>PR-AUC</td><td>0.400</td></tr>" in page


def test_rollback_confirmation_shows_the_version_returning_beside_the_one_leaving(admin_client: Client) -> None:
    first, second = register_version(seed=0, pr_auc=0.30), register_version(seed=1, pr_auc=0.40)
    services.model_version_promote(version=first, actor=None, reason="first")
    services.model_version_promote(version=second, actor=None, reason="second")
    page = admin_client.get(reverse("admin:modelregistry_modelversion_rollback", args=[second.pk])).content.decode()
    assert "upper-circuit v2 leaves production and upper-circuit v1 returns to it." in page
    assert "<td>PR-AUC</td><td>0.300</td><td>0.400</td>" in page
