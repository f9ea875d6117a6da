"""The report opens in headless Chromium with no console error: runs scripts/check_report_chromium.py.

`make test` installs Debian's chromium first (scripts/test_deps.sh); a bare pytest run without it
skips this test, and the structural checks of the report in test_views.py run everywhere.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from backtesting import services, tasks
from backtesting.fold_training import FoldConfig
from backtesting.models import BacktestRun
from backtesting.report import render_report
from marketdata.synthetic import SyntheticMarket

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_report_chromium.py"


def _checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_report_chromium", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.django_db
def test_report_opens_in_headless_chromium_without_console_errors(
    market: SyntheticMarket, eager_celery: None, django_capture_on_commit_callbacks: Any, tmp_path: Path
) -> None:
    if not any(shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")):
        pytest.skip("no Chromium installed: `make test` installs it (scripts/test_deps.sh)")
    design = services.WalkForwardDesign(start=dt.date(2021, 9, 1), folds=2, train_days=120, test_days=20)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.walk_forward_create(design=design, fold_config=FoldConfig(rounds=10, valid_dates=20))
        tasks.walk_forward_dispatch(run_id=run.pk)
    report = tmp_path / "report.html"
    report.write_text(render_report(BacktestRun.objects.get(walk_forward=run)), encoding="utf-8")
    broken = tmp_path / "broken.html"
    broken.write_text(report.read_text().replace("</main>", "<script>notDefined();</script></main>"))
    good, bad = _checker().check_reports([report, broken])
    assert good.ok, (good.errors, good.requests)
    assert good.charts == 5
    assert good.trade_rows > 0
    assert not bad.ok
    assert any("notDefined" in e for e in bad.errors)  # the check does see errors
