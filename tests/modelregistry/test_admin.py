from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from modelregistry.choices import PromotionAction, VersionStatus
from modelregistry.models import ModelVersion, PromotionEvent
from tests.factories import register_version

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:modelregistry_modelversion_changelist"


def _staff(username: str, *, can_promote: bool) -> Client:
    user = User.objects.create_user(username=username, password="pw-12345-xyz", is_staff=True)
    codenames = ["view_modelversion", "view_promotionevent"] + (["promote_modelversion"] if can_promote else [])
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="modelregistry", codename__in=codenames)
    )
    client = Client()
    client.force_login(user)
    return client


def _act(client: Client, action: str, version: ModelVersion, reason: str) -> None:
    """Choose the action in the changelist, then confirm it on the confirmation page."""
    response = client.post(reverse(CHANGELIST), {"action": action, "_selected_action": [version.pk]})
    assert response.status_code == 302, response.content[:500]
    confirm_url = response["Location"]
    page = client.get(confirm_url)
    assert page.status_code == 200
    assert b"reason" in page.content
    done = client.post(confirm_url, {"reason": reason})
    assert done.status_code == 302
    assert done["Location"] == reverse(CHANGELIST)


def _production_versions() -> list[int]:
    return list(ModelVersion.objects.filter(status=VersionStatus.PRODUCTION).values_list("version", flat=True))


def test_promote_promote_rollback_through_admin_keeps_one_production_and_three_audit_rows() -> None:
    client = _staff("quant", can_promote=True)
    a, b = register_version(seed=0), register_version(seed=1)
    _act(client, "promote_selected", a, "first model in production")
    assert _production_versions() == [1]
    _act(client, "promote_selected", b, "better PR-AUC on 2022")
    assert _production_versions() == [2]
    _act(client, "rollback_selected", b, "live F1 fell")
    assert _production_versions() == [1]
    events = PromotionEvent.objects.exclude(action=PromotionAction.REGISTER).order_by("id")
    assert [(e.action, e.model_version.version, e.actor) for e in events] == [
        ("promote", 1, "quant"),
        ("promote", 2, "quant"),
        ("rollback", 1, "quant"),
    ]
    assert events[2].reason == "live F1 fell"


def test_reason_is_required_on_the_confirmation_page() -> None:
    client = _staff("quant", can_promote=True)
    a = register_version()
    url = reverse("admin:modelregistry_modelversion_promote", args=[a.pk])
    response = client.post(url, {"reason": ""})
    assert response.status_code == 200
    assert b"This field is required" in response.content
    assert _production_versions() == []


def test_tampered_artifact_cannot_be_promoted_from_admin() -> None:
    client = _staff("quant", can_promote=True)
    a = register_version()
    (Path(a.artifact_uri) / "model.ubj").write_bytes(b"not the model")
    response = client.post(
        reverse("admin:modelregistry_modelversion_promote", args=[a.pk]), {"reason": "try"}, follow=True
    )
    assert b"cannot be used" in response.content
    assert _production_versions() == []


def test_staff_without_the_permission_see_no_actions_and_get_403() -> None:
    client = _staff("viewer", can_promote=False)
    a = register_version()
    page = client.get(reverse(CHANGELIST))
    assert page.status_code == 200
    assert b"promote_selected" not in page.content
    assert b"compare_selected" in page.content
    for view in ("promote", "rollback", "archive"):
        url = reverse(f"admin:modelregistry_modelversion_{view}", args=[a.pk])
        assert client.get(url).status_code == 403
        assert client.post(url, {"reason": "sneaky"}).status_code == 403
    assert _production_versions() == []


def test_changelist_shows_metrics_and_compare_shows_versions_side_by_side() -> None:
    client = _staff("quant", can_promote=True)
    a, b = register_version(f1=0.51, pr_auc=0.42), register_version(seed=1, f1=0.55, pr_auc=0.47)
    page = client.get(reverse(CHANGELIST))
    assert b"0.420" in page.content  # PR-AUC in the list; F1 is on the detail and compare pages
    assert b"0.470" in page.content
    response = client.post(reverse(CHANGELIST), {"action": "compare_selected", "_selected_action": [a.pk, b.pk]})
    compare = client.get(response["Location"])
    assert compare.status_code == 200
    assert b"upper-circuit v1" in compare.content
    assert b"upper-circuit v2" in compare.content
    assert b"0.420" in compare.content
    assert b"0.470" in compare.content


def test_archive_from_admin_and_history_is_read_only() -> None:
    client = _staff("quant", can_promote=True)
    a = register_version()
    _act(client, "archive_selected", a, "superseded")
    a.refresh_from_db()
    assert a.status == VersionStatus.ARCHIVED
    history = client.get(reverse("admin:modelregistry_promotionevent_changelist"))
    assert history.status_code == 200
    assert b"superseded" in history.content
    event = PromotionEvent.objects.first()
    assert event is not None
    change = client.post(reverse("admin:modelregistry_promotionevent_change", args=[event.pk]), {"reason": "edited"})
    assert PromotionEvent.objects.get(pk=event.pk).reason != "edited"
    assert change.status_code in (200, 403)


def test_selecting_two_versions_for_promotion_asks_for_one() -> None:
    client = _staff("quant", can_promote=True)
    a, b = register_version(), register_version(seed=1)
    response = client.post(
        reverse(CHANGELIST), {"action": "promote_selected", "_selected_action": [a.pk, b.pk]}, follow=True
    )
    assert b"exactly one" in response.content
