from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_settings(extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"}}
    environment.update({"DJANGO_SETTINGS_MODULE": "vcp_platform.settings", **extra_env})
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default']['ENGINE'], settings.CELERY_TASK_ALWAYS_EAGER, "
        "settings.CACHES['default']['BACKEND'])"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60, check=False
    )


def test_embedded_default_is_sqlite_locmem_and_eager_celery(tmp_path: Path) -> None:
    result = _load_settings({"DEBUG": "1", "VCP_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "True",
        "django.core.cache.backends.locmem.LocMemCache",
    ]


def test_redis_url_switches_cache_and_celery_to_redis(tmp_path: Path) -> None:
    result = _load_settings({"DEBUG": "1", "VCP_DATA_DIR": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:6379/9"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1:] == ["False", "common.rediscache.ReusedClientRedisCache"]


def test_missing_secret_key_without_debug_stops_startup_naming_it(tmp_path: Path) -> None:
    result = _load_settings({"DEBUG": "0", "VCP_DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY is required" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEBUG", "maybe"),
        ("DATABASE_URL", "mysqlish:/nope"),
        ("REDIS_URL", "localhost:6379"),
        ("VCP_BATCH_PREDICT_LIMIT", "lots"),
        ("VCP_SCORE_CHUNK_SIZE", "0"),
    ],
)
def test_malformed_value_stops_startup_naming_the_variable(tmp_path: Path, variable: str, value: str) -> None:
    result = _load_settings({"DEBUG": "1", "VCP_DATA_DIR": str(tmp_path), variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr
