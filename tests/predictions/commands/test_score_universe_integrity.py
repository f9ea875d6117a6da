"""score_universe with a production model whose files changed: one line, no traceback, the run FAILED."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.conf import LazySettings
from django.core.management import CommandError, call_command

from common.choices import RunStatus
from modelregistry.models import ModelVersion
from predictions.models import BatchRun
from tests.predictions.conftest import Market

pytestmark = pytest.mark.django_db


def test_a_tampered_native_model_fails_the_command_with_one_line(
    market: Market, production: ModelVersion, settings: LazySettings
) -> None:
    native = Path(settings.VCP_ARTIFACT_ROOT) / production.name / str(production.version) / "model.ubj"
    native.write_bytes(native.read_bytes() + b"tampered")
    with pytest.raises(CommandError, match="cannot be used") as refused:
        call_command("score_universe", stdout=StringIO())
    assert "\n" not in str(refused.value)
    assert BatchRun.objects.get().status == RunStatus.FAILED
