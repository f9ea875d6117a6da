from __future__ import annotations

import pytest

from vcp_platform.celery import BEAT_SCHEDULE, app

pytestmark = pytest.mark.django_db


def test_every_scheduled_task_is_a_registered_celery_task() -> None:
    app.loader.import_default_modules()
    for entry in BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, f"beat schedules {entry['task']}, which no module defines"
