from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from backtesting.models import ComparisonRun
from marketdata.synthetic import SyntheticMarket
from tests.backtesting.conftest import FAST
from tests.factories import register_version

pytestmark = pytest.mark.django_db


@pytest.mark.slow
def test_compare_models_prints_the_side_by_side_table_and_the_verdicts(market: SyntheticMarket) -> None:
    out = StringIO()
    call_command(
        "compare_models",
        "--feature-sets", "all", "vcp_only",
        "--start", "2021-10-01",
        "--end", "2021-11-30",
        "--train-days", "150",
        "--n-boot", "50",
        *FAST,
        stdout=out,
    )  # fmt: skip
    text = out.getvalue()
    run = ComparisonRun.objects.get()
    assert run.label_a == "lightgbm / all features"
    assert run.label_b == "lightgbm / vcp_only features"
    assert "PR-AUC" in text
    assert "McNemar:" in text
    assert "Bootstrap:" in text
    a, b = register_version(seed=0), register_version(seed=1)
    call_command("compare_models", "--versions", str(a.pk), str(b.pk), "--start", "2021-10-01", "--end", "2021-11-30",
                 "--n-boot", "20", stdout=out)  # fmt: skip
    assert ComparisonRun.objects.count() == 2
    with pytest.raises(CommandError, match="list_models"):
        call_command("compare_models", "--versions", str(a.pk), "999", "--start", "2021-10-01", "--end", "2021-11-30")
