"""check_degradation from the command line records the operator (--actor) for a rollback it makes."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_check_degradation_records_the_operator_for_a_rollback(monkeypatch: pytest.MonkeyPatch) -> None:
    from monitoring import services

    seen: dict[str, object] = {}

    def fake_check(**kwargs: object) -> None:
        seen.update(kwargs)

    monkeypatch.setattr(services, "degradation_check", fake_check)
    call_command("check_degradation", "--actor", "dave", stdout=StringIO())
    assert seen["actor"] == "dave"
