"""The import-linter contracts in pyproject.toml hold, and a break of one fails `make lint`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "common",
    "marketdata",
    "features",
    "modelregistry",
    "predictions",
    "monitoring",
    "backtesting",
    "vcp_platform",
)
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    if not LINT_IMPORTS.exists():
        pytest.fail(f"{LINT_IMPORTS} is missing: `make venv` installs import-linter (requirements/dev.txt)")
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """The packages and pyproject.toml copied, so a test can break a contract without touching the tree."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_contracts_hold_on_the_code() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_django_imported_into_features_breaks_the_purity_contract(project_copy: Path) -> None:
    (project_copy / "features" / "leak.py").write_text("from django.db import models  # a pure module must not\n")
    result = _lint_imports(project_copy)
    assert result.returncode != 0
    assert "Pure computation imports no Django, DRF or Celery BROKEN" in result.stdout
    assert "features.leak -> django (l.1)" in result.stdout


def test_a_lower_app_importing_a_higher_one_breaks_the_layers(project_copy: Path) -> None:
    (project_copy / "marketdata" / "leak.py").write_text("from predictions import selectors  # upward\n")
    result = _lint_imports(project_copy)
    assert result.returncode != 0
    assert "marketdata is not allowed to import predictions" in result.stdout
