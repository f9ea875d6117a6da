"""Create (or reset) the demo staff user and its API token; print both and a curl for /api/v1/predict."""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from rest_framework.authtoken.models import Token

from marketdata.models import Instrument
from predictions.models import Prediction


class Command(BaseCommand):
    help = (
        "Create or reset the demo staff user (a new random password each run), print its API token and a "
        "ready-to-paste curl for /api/v1/predict."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="demo")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="Where the API is served.")

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"]
        password = secrets.token_urlsafe(12)
        with transaction.atomic():
            user, _ = get_user_model().objects.get_or_create(username=username)
            user.is_staff = True
            user.is_superuser = False
            user.set_password(password)
            user.save()
            # Staff quants: read everything, and promote/roll back models.
            perms = Permission.objects.filter(
                content_type__app_label__in=[
                    "marketdata",
                    "modelregistry",
                    "predictions",
                    "monitoring",
                    "backtesting",
                    "authtoken",
                    "django_celery_beat",
                ],
            )
            user.user_permissions.set(perms)
            token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(self.style.SUCCESS(f"Staff user: {username}  password: {password}"))
        self.stdout.write(f"API token:  {token.key}")
        symbol = _demo_symbol()
        body = json.dumps({"symbol": symbol, "explain": True})
        self.stdout.write("Try the API:")
        self.stdout.write(
            f"curl -s -X POST {options['base_url']}/api/v1/predict -H 'Authorization: Token {token.key}' "
            f"-H 'Content-Type: application/json' -d '{body}'"
        )


def _demo_symbol() -> str:
    """Today's top-ranked stock, else any active one: a symbol the curl will find."""
    top = Prediction.objects.order_by("-date", "rank").values_list("instrument__symbol", flat=True).first()
    if top:
        return top
    return Instrument.objects.filter(active=True).values_list("symbol", flat=True).first() or "RELIANCE"
