"""Alert delivery: email through Django's mail backend and a Slack-compatible incoming webhook.

Delivery never raises: each channel reports "sent", "skipped" (not configured) or the error text,
and the caller records that on the alert. De-duplication is not done here but in
``services.alert_raise``, which decides whether an alert is new.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from django.core.mail import send_mail

logger = logging.getLogger("vcp.monitoring.notify")

SENT = "sent"
SKIPPED = "skipped"
WEBHOOK_TIMEOUT_SECONDS = 5.0
_SEVERITY_MARK = {"info": ":information_source:", "warning": ":warning:", "critical": ":rotating_light:"}


def alert_subject(*, kind: str, severity: str, message: str) -> str:
    first_line = message.splitlines()[0] if message else kind
    return f"[VCP {severity.upper()}] {first_line}"[:200]


def alert_text(*, kind: str, severity: str, message: str, context: dict[str, Any], url: str | None) -> str:
    """Plain text shared by both channels: the message, the context as key: value lines, a link."""
    lines = [f"{_SEVERITY_MARK.get(severity, '')} *{severity.upper()}* {kind}".strip(), message]
    lines += [f"{key}: {value}" for key, value in context.items() if not isinstance(value, (dict, list))]
    if url:
        lines.append(url)
    return "\n".join(lines)


def email_send(*, subject: str, body: str, recipients: Sequence[str], sender: str) -> str:
    if not recipients:
        return SKIPPED
    try:
        send_mail(subject, body, sender, list(recipients), fail_silently=False)
    except Exception as exc:  # any backend error (SMTP, socket) must not lose the alert row
        logger.exception("alert email failed")
        return f"error: {type(exc).__name__}: {exc}"[:500]
    return SENT


def webhook_post(*, url: str | None, text: str, timeout: float = WEBHOOK_TIMEOUT_SECONDS) -> str:
    """POST ``{"text": ...}``, the payload Slack, Mattermost and Rocket.Chat incoming webhooks accept."""
    if not url:
        return SKIPPED
    body = json.dumps({"text": text}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except (urllib.error.URLError, OSError, ValueError) as exc:
        logger.warning("alert webhook failed", extra={"error": str(exc)})
        return f"error: {type(exc).__name__}: {exc}"[:500]
    return SENT if 200 <= status < 300 else f"error: HTTP {status}"
