"""Command-line registry actions are audited as the operator: --actor, by default the OS user."""

from __future__ import annotations

import os
from io import StringIO
from pathlib import Path

import pytest
from django.conf import LazySettings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from common.commands import os_user
from modelregistry.choices import PromotionAction
from modelregistry.models import ModelVersion, PromotionEvent
from tests.factories import register_version

pytestmark = pytest.mark.django_db


def test_promote_and_rollback_record_the_named_actor_and_link_their_user() -> None:
    alice = get_user_model().objects.create(username="alice")
    a, b = register_version(), register_version(seed=1)
    call_command(
        "promote_model", "--model-version", str(a.pk), "--reason", "first", "--actor", "alice", stdout=StringIO()
    )
    call_command(
        "promote_model", "--model-version", str(b.pk), "--reason", "second", "--actor", "bob", stdout=StringIO()
    )
    call_command("rollback_model", "--reason", "bad day", "--actor", "alice", stdout=StringIO())
    events = {e.action + str(e.model_version_id): e for e in PromotionEvent.objects.exclude(action="register")}
    assert events[f"{PromotionAction.PROMOTE}{a.pk}"].actor == "alice"
    assert events[f"{PromotionAction.PROMOTE}{a.pk}"].actor_user == alice
    assert events[f"{PromotionAction.PROMOTE}{b.pk}"].actor == "bob"
    assert events[f"{PromotionAction.PROMOTE}{b.pk}"].actor_user is None  # no such Django user: the name only
    assert events[f"{PromotionAction.ROLLBACK}{a.pk}"].actor == "alice"
    assert not PromotionEvent.objects.filter(actor="system").exclude(action="register").exists()


def test_without_actor_the_os_user_is_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUDO_USER", "carol")
    assert os_user() == "carol"
    version = register_version()
    call_command("promote_model", "--model-version", str(version.pk), "--reason", "sudo'd", stdout=StringIO())
    assert PromotionEvent.objects.get(action=PromotionAction.PROMOTE).actor == "carol"


def test_train_model_refuses_an_unwritable_artifact_directory_before_training(
    settings: LazySettings, tmp_path: Path
) -> None:
    if os.geteuid() == 0:
        root = Path("/proc/vcp-not-writable")  # root ignores permission bits; /proc refuses new files
    else:
        root = tmp_path / "read-only"
        root.mkdir()
        root.chmod(0o500)
    settings.VCP_ARTIFACT_ROOT = root
    with pytest.raises(CommandError, match="not writable") as refused:
        call_command(
            "train_model", "--algorithm", "xgboost", "--start", "2024-01-01", "--end", "2024-06-28", stdout=StringIO()
        )
    assert "\n" not in str(refused.value)  # one line: no traceback, and nothing trained or registered
    assert not ModelVersion.objects.exists()


def test_a_full_disk_while_storing_registers_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from modelregistry import artifacts, services

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(artifacts, "save_version", full)
    with pytest.raises(services.RegistryError, match="No space left on device"):
        register_version()
    assert not ModelVersion.objects.exists()
