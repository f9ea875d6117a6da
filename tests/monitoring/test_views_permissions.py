"""Starting a check that can roll production back needs the permission to promote, not only staff status."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

pytestmark = pytest.mark.django_db


def _staff(username: str, *, promote: bool) -> Client:
    user = get_user_model().objects.create_user(username, password="x-very-long-password-1", is_staff=True)
    if promote:
        user.user_permissions.add(Permission.objects.get(codename="promote_modelversion"))
    client = Client()
    client.force_login(user)
    return client


def test_staff_without_the_promote_permission_cannot_start_the_degradation_check(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    from monitoring import views

    queued: list[dict[str, Any]] = []
    monkeypatch.setattr(views.CHECKS["degradation"], "delay", lambda **kw: queued.append(kw))
    monkeypatch.setattr(views.CHECKS["drift"], "delay", lambda **kw: queued.append(kw))
    plain = _staff("viewer", promote=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert plain.post("/staff/checks/degradation/run").status_code == 403
        assert plain.post("/staff/checks/drift/run").status_code == 302  # drift cannot roll back: any staff
    assert [sorted(kw) for kw in queued] == [["day"]]
    assert "Run degradation check now" not in plain.get("/staff/").content.decode()

    allowed = _staff("releaser", promote=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert allowed.post("/staff/checks/degradation/run").status_code == 302
    assert queued[-1]["actor"] == "releaser"  # a rollback it makes is recorded as theirs
