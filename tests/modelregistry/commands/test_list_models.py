from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def test_commands_explain_what_went_wrong() -> None:
    with pytest.raises(CommandError, match="list_models"):
        call_command("promote_model", "--model-version", "999", "--reason", "x")
    with pytest.raises(CommandError, match="no production version"):
        call_command("rollback_model", "--reason", "x")
    out = StringIO()
    call_command("list_models", stdout=out)
    assert "train_model" in out.getvalue()
