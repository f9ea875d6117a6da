"""The Dockerfile, the requirement split and the image trimming agree with what the code imports.

No Docker here: the image itself is built and measured by scripts/offline_images.sh and
scripts/compose_smoke.sh (docs/deployment.md).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import ROOT

APPS = ("vcp_platform", "common", "marketdata", "features", "modelregistry", "predictions", "monitoring", "backtesting")
TRAINING_ONLY = ("sklearn", "statsmodels", "onnx", "onnxmltools", "skl2onnx")
# Modules deploy/docker/slim_venv.sh deletes from the image: no platform code may import them.
STRIPPED = (
    "pyarrow.flight",
    "pyarrow._s3fs",
    "pyarrow._gcsfs",
    "pyarrow._azurefs",
    "pyarrow._hdfs",
    "onnxruntime.quantization",
    "onnxruntime.transformers",
    "onnxruntime.tools",
    "plotly.data",
    "sklearn.datasets",
    "statsmodels.datasets",
    "talib",
)


def _pins(name: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements" / name).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "-r")):
            assert "==" in line, f"requirements/{name}: {line!r} is not pinned"
            package, version = line.split("==")
            pins[package.lower().replace("_", "-")] = version
    return pins


def _includes(name: str) -> list[str]:
    lines = (ROOT / "requirements" / name).read_text().splitlines()
    return [line.split()[1] for line in lines if line.startswith("-r")]


def _python_sources() -> list[Path]:
    return [p for app in APPS if (ROOT / app).is_dir() for p in (ROOT / app).rglob("*.py")]


def test_requirements_split_into_serve_train_and_the_rest_without_overlap() -> None:
    serve, train, base = _pins("serve.txt"), _pins("train.txt"), _pins("base.txt")
    assert _includes("train.txt") == ["serve.txt"]
    assert _includes("base.txt") == ["train.txt"]
    assert "base.txt" in _includes("prod.txt")
    assert not set(serve) & set(train), "a package is pinned twice"
    assert not (set(serve) | set(train)) & set(base), "a package is pinned twice"
    assert {"gunicorn", "xgboost-cpu", "onnxruntime", "django"} <= set(serve)
    assert {"scikit-learn", "statsmodels", "onnxmltools", "skl2onnx"} <= set(train)


def test_packages_left_out_of_the_images_are_imported_nowhere() -> None:
    left_out = {"ta-lib": "talib"}
    assert set(_pins("base.txt")) == set(left_out), "base.txt adds only what no image needs"
    for path in _python_sources():
        for module in left_out.values():
            assert not re.search(rf"^\s*(import|from) {module}\b", path.read_text(), re.M), (
                f"{path.relative_to(ROOT)} imports {module}: move its pin into requirements/serve.txt"
            )


def test_no_platform_code_imports_what_the_image_strips() -> None:
    for path in _python_sources():
        text = path.read_text()
        for module in STRIPPED:
            pattern = rf"^\s*(import {re.escape(module)}\b|from {re.escape(module)}\b)"
            assert not re.search(pattern, text, re.M), (
                f"{path.relative_to(ROOT)} imports {module}, which deploy/docker/slim_venv.sh deletes"
            )


def test_dockerfile_builds_two_nonroot_targets_from_a_base_image_argument() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "ARG BASE_IMAGE=python:3.11-slim-bookworm" in dockerfile
    assert "FROM ${BASE_IMAGE} AS build" in dockerfile
    assert "FROM scratch AS serve" in dockerfile
    assert "FROM serve AS full" in dockerfile
    assert dockerfile.rstrip().splitlines()[-2].startswith("FROM serve AS full"), "full is the last (default) target"
    assert "USER 10001:10001" in dockerfile
    assert "-r /opt/build/requirements/serve.txt" in dockerfile
    assert "-r /opt/build/requirements/train.txt" in dockerfile
    # The CA bundle reaches pip as a BuildKit secret, never as a layer.
    assert "--mount=type=secret,id=pip_ca" in dockerfile
    assert "COPY" not in re.sub(r"COPY (requirements|deploy|--from|\. /app).*", "", dockerfile)
    health = re.search(r'HEALTHCHECK .*\n\s+CMD \["python", "/app/(deploy/healthcheck.py)", "web"\]', dockerfile)
    assert health is not None
    assert (ROOT / health.group(1)).is_file()


def test_dockerignore_keeps_secrets_tests_and_local_state_out_of_the_image() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "var", ".env", "tests", "docs", "*.parquet"} <= ignored
    assert "deploy" not in ignored, "the image runs deploy/gunicorn.conf.py and deploy/healthcheck.py"


def _import_with_training_packages_blocked(code: str) -> subprocess.CompletedProcess[str]:
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {TRAINING_ONLY!r}:\n"
        "            raise ImportError(f'{name} is not in the serve image')\n"
        "sys.meta_path.insert(0, Block())\n"
    )
    return subprocess.run(
        [sys.executable, "-c", blocker + code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"DEBUG": "1", "SECRET_KEY": "x", "VCP_LOG_TO_FILE": "0", "PATH": "/usr/bin:/bin"},
        check=False,
    )


@pytest.mark.slow
def test_web_runs_the_serve_image_only_if_its_urlconf_loads_without_training_packages(
    compose: dict[str, Any],
) -> None:
    result = _import_with_training_packages_blocked(
        "import django, os\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'vcp_platform.settings')\n"
        "django.setup()\n"
        "from django.urls import get_resolver\n"
        "get_resolver().url_patterns\n"
    )
    if result.returncode != 0:
        assert "is not in the serve image" in result.stderr, result.stderr[-2000:]
        # Today: backtesting's staff views -> backtesting.services -> modelregistry.training -> sklearn.
        assert compose["services"]["web"]["build"]["target"] == "full", (
            "web's URLconf imports a training package, so web must run the full image:\n" + result.stderr[-600:]
        )


def test_healthcheck_sends_the_first_concrete_allowed_host(monkeypatch: pytest.MonkeyPatch) -> None:
    sys.path.insert(0, str(ROOT / "deploy"))
    try:
        import healthcheck
    finally:
        sys.path.remove(str(ROOT / "deploy"))
    monkeypatch.setenv("ALLOWED_HOSTS", "*,.example.com,vcp.example.com,localhost")
    assert healthcheck._site_host() == "vcp.example.com"
    monkeypatch.setenv("ALLOWED_HOSTS", "")
    assert healthcheck._site_host() is None
    assert healthcheck.main(["healthcheck.py", "nonsense"]) == 2
    assert set(healthcheck.CHECKS) == {"web", "worker", "beat", "alert-sink"}
