"""Copy the daily schedule declared in vcp_platform/celery.py into the admin-editable beat tables."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from common.services import beat_schedule_sync


class Command(BaseCommand):
    help = "Write the Celery beat schedule declared in code into django-celery-beat's tables (admin: Periodic tasks)."

    def handle(self, *args: Any, **options: Any) -> None:
        names = beat_schedule_sync()
        self.stdout.write(self.style.SUCCESS(f"Beat schedule synced: {', '.join(names)}"))
