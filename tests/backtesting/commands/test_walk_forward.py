from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from backtesting.models import WalkForwardRun
from common.choices import RunStatus
from marketdata.synthetic import SyntheticMarket
from tests.backtesting.conftest import FAST

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)  # on_commit fires as in production: the command waits for the run
@pytest.mark.slow
def test_walk_forward_command_runs_the_folds_and_prints_the_summary(
    market: SyntheticMarket, eager_celery: None
) -> None:
    out = StringIO()
    call_command(
        "walk_forward",
        "--algorithm", "lightgbm",
        "--start", "2021-09-01",
        "--folds", "2",
        "--train-days", "120",
        "--test-days", "20",
        *FAST,
        "--timeout", "120",
        stdout=out,
    )  # fmt: skip
    text = out.getvalue()
    run = WalkForwardRun.objects.get()
    assert run.status == RunStatus.SUCCEEDED
    assert run.folds == 2
    assert run.fold_rows.count() == 2
    assert "fold  0 test" in text
    assert "fold  1 test" in text
    assert "Mean F1" in text
    assert "consistency" in text
    assert f"Walk-forward {run.pk} succeeded" in text
    assert "Trading the out-of-sample signals" in text


def test_walk_forward_command_refuses_a_strategy_that_never_signals() -> None:
    with pytest.raises(CommandError, match="--top-k"):
        call_command("walk_forward", "--algorithm", "lightgbm", "--start", "2021-09-01", "--ignore-threshold")
