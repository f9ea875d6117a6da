"""Alerts: de-duplicated for 24 h, emailed through Django's mail backend, posted to a webhook, acknowledged in admin."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from monitoring import notify, services
from monitoring.choices import AlertKind, AlertSeverity
from monitoring.models import Alert


class _Webhook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]
    status = 200

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.received.append(
            {"content_type": self.headers["Content-Type"], "body": json.loads(self.rfile.read(length))}
        )
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]], type[_Webhook]]]:
    """A local Slack-compatible endpoint on a thread: (url, received payloads, handler class)."""
    handler = type("Handler", (_Webhook,), {"received": [], "status": 200})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/abc", handler.received, handler
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def channels(settings: Any, webhook: tuple[str, list[dict[str, Any]], type[_Webhook]]) -> None:
    settings.VCP_ALERT_EMAILS = ["ops@example.com", "ml@example.com"]
    settings.VCP_ALERT_WEBHOOK_URL = webhook[0]
    settings.VCP_SITE_URL = "https://vcp.example.com"


def _raise(capture: Callable[..., Any], key: str = "drift:1", message: str = "Retrain needed: v1 drifted") -> Alert:
    with capture(execute=True):
        alert, _ = services.alert_raise(
            kind=AlertKind.DRIFT,
            severity=AlertSeverity.WARNING,
            message=message,
            dedupe_key=key,
            context={"model_version": "upper-circuit v1", "date": "2024-03-05"},
        )
    alert.refresh_from_db()
    return alert


@pytest.mark.django_db
def test_a_new_alert_is_emailed_and_posted_to_the_webhook(
    channels: None,
    webhook: tuple[str, list[dict[str, Any]], type[_Webhook]],
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    alert = _raise(django_capture_on_commit_callbacks)
    assert alert.delivery == {"email": "sent", "webhook": "sent"}
    assert alert.delivered_at is not None
    [email] = mailoutbox
    assert email.subject == "[VCP WARNING] Retrain needed: v1 drifted"
    assert email.to == ["ops@example.com", "ml@example.com"]
    assert "model_version: upper-circuit v1" in email.body
    assert "https://vcp.example.com/staff/" in email.body
    [post] = webhook[1]
    assert post["content_type"] == "application/json"
    assert "Retrain needed: v1 drifted" in post["body"]["text"]
    assert set(post["body"]) == {"text"}


@pytest.mark.django_db
def test_the_same_alert_is_not_resent_within_24_hours(
    channels: None,
    webhook: tuple[str, list[dict[str, Any]], type[_Webhook]],
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    first = _raise(django_capture_on_commit_callbacks)
    again = _raise(django_capture_on_commit_callbacks, message="Retrain needed: still drifted")
    assert again.pk == first.pk
    assert again.occurrences == 2
    assert again.last_seen_at > first.last_seen_at
    assert len(mailoutbox) == 1
    assert len(webhook[1]) == 1

    other = _raise(django_capture_on_commit_callbacks, key="drift:2")  # another version: another alert
    assert other.pk != first.pk
    assert len(mailoutbox) == 2

    Alert.objects.filter(pk=first.pk).update(created_at=timezone.now() - dt.timedelta(hours=24, minutes=1))
    later = _raise(django_capture_on_commit_callbacks)
    assert later.pk not in (first.pk, other.pk)
    assert len(mailoutbox) == 3
    assert len(webhook[1]) == 3


@pytest.mark.django_db
def test_a_failing_webhook_is_recorded_on_the_alert_not_raised(
    channels: None,
    webhook: tuple[str, list[dict[str, Any]], type[_Webhook]],
    settings: Any,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    webhook[2].status = 500
    alert = _raise(django_capture_on_commit_callbacks)
    assert alert.delivery["email"] == "sent"
    assert alert.delivery["webhook"].startswith("error: HTTPError: HTTP Error 500")

    settings.VCP_ALERT_WEBHOOK_URL = "http://127.0.0.1:9/nothing-listens-here"
    unreachable = _raise(django_capture_on_commit_callbacks, key="other")
    assert unreachable.delivery["webhook"].startswith("error: URLError")


@pytest.mark.django_db
def test_without_channels_delivery_is_skipped(
    settings: Any, mailoutbox: list[Any], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    settings.VCP_ALERT_EMAILS = []
    settings.VCP_ALERT_WEBHOOK_URL = None
    alert = _raise(django_capture_on_commit_callbacks)
    assert alert.delivery == {"email": "skipped", "webhook": "skipped"}
    assert mailoutbox == []


@pytest.mark.django_db
def test_an_alert_is_only_sent_once_its_transaction_commits(
    channels: None, mailoutbox: list[Any], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.alert_raise(kind=AlertKind.DRIFT, severity=AlertSeverity.INFO, message="m", dedupe_key="k")
    assert len(callbacks) == 1
    assert mailoutbox == []


def test_alert_text_lists_scalar_context_and_the_link() -> None:
    text = notify.alert_text(
        kind="rollback",
        severity="critical",
        message="v2 rolled back",
        context={"realised_f1": 0.4, "drifted": ["a", "b"]},
        url="https://x/staff/",
    )
    assert text.splitlines() == [
        ":rotating_light: *CRITICAL* rollback",
        "v2 rolled back",
        "realised_f1: 0.4",
        "https://x/staff/",
    ]


def test_staff_acknowledge_open_alerts_in_admin(admin_client: Any, admin_user: Any) -> None:
    now = timezone.now()
    open_alert = Alert.objects.create(
        kind=AlertKind.DEGRADATION, severity=AlertSeverity.WARNING, message="F1 down", dedupe_key="a", last_seen_at=now
    )
    other = Alert.objects.create(
        kind=AlertKind.DRIFT, severity=AlertSeverity.WARNING, message="drift", dedupe_key="b", last_seen_at=now
    )
    changelist = reverse("admin:monitoring_alert_changelist")
    assert "F1 down" in admin_client.get(changelist + "?state=open").content.decode()

    response = admin_client.post(
        changelist, {"action": "acknowledge", "_selected_action": [open_alert.pk]}, follow=True
    )
    assert response.status_code == 200
    assert "1 alert(s) acknowledged." in response.content.decode()
    open_alert.refresh_from_db()
    other.refresh_from_db()
    assert open_alert.acknowledged_by == admin_user
    assert open_alert.acknowledged_at is not None
    assert not open_alert.is_open
    assert other.is_open
    assert "F1 down" not in admin_client.get(changelist + "?state=open").content.decode()


def test_staff_without_the_change_permission_cannot_acknowledge(client: Any, django_user_model: Any) -> None:
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_alert"))
    client.force_login(viewer)
    alert = Alert.objects.create(
        kind=AlertKind.DRIFT,
        severity=AlertSeverity.WARNING,
        message="drift",
        dedupe_key="c",
        last_seen_at=timezone.now(),
    )
    changelist = reverse("admin:monitoring_alert_changelist")
    assert client.get(changelist).status_code == 200
    client.post(changelist, {"action": "acknowledge", "_selected_action": [alert.pk]})
    alert.refresh_from_db()
    assert alert.is_open
