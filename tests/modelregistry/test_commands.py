from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from modelregistry.choices import VersionStatus
from modelregistry.models import ModelVersion, PromotionEvent
from tests.factories import register_version

pytestmark = pytest.mark.django_db


def test_promote_rollback_and_list_commands_use_the_services() -> None:
    a, b = register_version(), register_version(seed=1)
    out = StringIO()
    call_command("promote_model", "--model-version", str(a.pk), "--reason", "first", stdout=out)
    call_command("promote_model", "--model-version", str(b.pk), "--reason", "second", stdout=out)
    call_command("rollback_model", "--name", "upper-circuit", "--reason", "bad day", stdout=out)
    assert "v1 is in production again" in out.getvalue()
    assert ModelVersion.objects.get(status=VersionStatus.PRODUCTION).pk == a.pk
    assert PromotionEvent.objects.filter(actor="system", action="rollback").count() == 1
    listing = StringIO()
    call_command("list_models", stdout=listing)
    assert "production" in listing.getvalue()
    assert "archived" in listing.getvalue()


def test_commands_explain_what_went_wrong() -> None:
    with pytest.raises(CommandError, match="list_models"):
        call_command("promote_model", "--model-version", "999", "--reason", "x")
    with pytest.raises(CommandError, match="no production version"):
        call_command("rollback_model", "--reason", "x")
    out = StringIO()
    call_command("list_models", stdout=out)
    assert "train_model" in out.getvalue()
