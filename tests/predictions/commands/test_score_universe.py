from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from common.choices import RunStatus
from modelregistry.models import ModelVersion
from predictions.models import BatchRun, Prediction
from tests.predictions.conftest import Market

pytestmark = pytest.mark.django_db


def test_score_universe_command_scores_a_date_and_reports_the_stages(market: Market, production: ModelVersion) -> None:
    out = StringIO()
    call_command("score_universe", "--date", market.dates[-2].isoformat(), "--chunk-size", "7", stdout=out)
    run = BatchRun.objects.get()
    assert run.status == RunStatus.SUCCEEDED
    assert run.date == market.dates[-2]
    assert f"scored {run.scored} of {run.instruments}" in out.getvalue()
    assert "read_bars" in out.getvalue()
    assert Path(run.export_path).is_file()
    assert run.chunks_total == -(-run.instruments // 7)


def test_score_universe_command_defaults_to_the_latest_date(market: Market, production: ModelVersion) -> None:
    call_command("score_universe", stdout=StringIO())
    assert set(Prediction.objects.values_list("date", flat=True)) == {market.last}


def test_score_universe_backfill_scores_the_sessions_before_the_date_once(
    market: Market, production: ModelVersion
) -> None:
    for _ in range(2):  # a rerun resumes: no duplicate predictions, one run per date
        call_command("score_universe", "--date", market.dates[-2].isoformat(), "--backfill", "3", stdout=StringIO())
    dates = sorted(set(Prediction.objects.values_list("date", flat=True)))
    assert dates == list(market.dates[-5:-1])
    assert Prediction.objects.count() == Prediction.objects.values("instrument", "date").distinct().count()
    assert set(BatchRun.objects.values_list("status", flat=True)) == {RunStatus.SUCCEEDED}
    assert BatchRun.objects.values("date").distinct().count() == 4


def test_score_universe_command_explains_a_refusal(market: Market) -> None:
    with pytest.raises(CommandError, match="promote a model version"):
        call_command("score_universe", stdout=StringIO())
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("score_universe", "--date", "last friday", stdout=StringIO())
    with pytest.raises(CommandError, match="--backfill must be 0 or a positive"):
        call_command("score_universe", "--backfill", "-1", stdout=StringIO())
    with pytest.raises(CommandError, match="at least 1"):
        call_command("score_universe", "--chunk-size", "0", stdout=StringIO())
