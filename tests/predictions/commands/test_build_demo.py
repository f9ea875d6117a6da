"""build_demo: the whole `make demo` build in one process, step by step."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from modelregistry.models import ModelVersion
from predictions.management.commands import build_demo
from predictions.models import Prediction

pytestmark = pytest.mark.django_db


def test_build_demo_runs_every_step_in_one_process_and_leaves_a_served_demo() -> None:
    out = StringIO()
    call_command("build_demo", "--stocks", "30", "--days", "320", "--seed", "3", "--backfill", "2", stdout=out)
    text = out.getvalue()
    steps = build_demo.demo_steps(stocks=30, days=320, seed=3, backfill=2)
    for number, (name, _) in enumerate(steps, start=1):
        assert f"[{number}/{len(steps)}] manage.py {name}" in text
    assert "Demo built: migrate" in text
    production = ModelVersion.objects.get(status="production")
    assert Prediction.objects.filter(model_version=production).values("date").distinct().count() == 3
    assert "curl -s -X POST" in text  # demo_user's last word


def test_a_failing_step_names_itself_and_stops_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []

    def fake(name: str, *args: Any, **kwargs: Any) -> None:
        ran.append(name)
        if name == "train_model":
            raise CommandError("not enough labelled rows")

    monkeypatch.setattr(build_demo, "call_command", fake)
    with pytest.raises(CommandError, match=r"demo step 4 \(train_model --algorithm xgboost --no-progress\) failed"):
        call_command("build_demo", stdout=StringIO())
    assert ran == ["migrate", "sync_beat_schedule", "generate_market", "train_model"]
