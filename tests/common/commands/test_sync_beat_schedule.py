from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django_celery_beat.models import PeriodicTask

from vcp_platform.celery import BEAT_SCHEDULE

pytestmark = pytest.mark.django_db


def test_schedule_in_code_lands_in_the_admin_editable_tables_once() -> None:
    out = StringIO()
    call_command("sync_beat_schedule", stdout=out)
    call_command("sync_beat_schedule", stdout=out)
    tasks = {t.name: t for t in PeriodicTask.objects.select_related("crontab")}
    assert set(BEAT_SCHEDULE) <= set(tasks)
    assert PeriodicTask.objects.filter(name__in=BEAT_SCHEDULE).count() == len(BEAT_SCHEDULE)
    scoring = tasks["score-universe-daily"]
    assert scoring.task == "predictions.tasks.score_universe_daily"
    assert (scoring.crontab.hour, scoring.crontab.minute, scoring.crontab.day_of_week) == ("18", "45", "*")
    assert "Beat schedule synced" in out.getvalue()


def test_staff_see_and_can_edit_the_schedule_in_admin(admin_client: Client) -> None:
    call_command("sync_beat_schedule", stdout=StringIO())
    task = PeriodicTask.objects.get(name="check-drift-daily")
    page = admin_client.get(f"/admin/django_celery_beat/periodictask/{task.pk}/change/")
    assert page.status_code == 200
    assert b"monitoring.tasks.check_drift" in page.content
