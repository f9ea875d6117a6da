from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from common.commands import os_user
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
    # Audited as the operator who ran the command (the OS user, without --actor), not "system".
    assert PromotionEvent.objects.filter(actor=os_user(), action="rollback").count() == 1
    listing = StringIO()
    call_command("list_models", stdout=listing)
    assert "production" in listing.getvalue()
    assert "archived" in listing.getvalue()
