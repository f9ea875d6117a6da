"""Create (or reset) the demo staff user and its API token, and print both."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = "Create or reset the demo staff user (a new random password each run) and print its API token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="demo")

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
                content_type__app_label__in=["marketdata", "modelregistry", "predictions", "monitoring",
                                             "backtesting", "authtoken", "django_celery_beat"],
            )
            user.user_permissions.set(perms)
            token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(self.style.SUCCESS(f"Staff user: {username}  password: {password}"))
        self.stdout.write(f"API token:  {token.key}")
