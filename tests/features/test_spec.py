"""The feature spec: 25 fixed names, a stable hash, and a package that never imports Django."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import features
from features import spec

REPO = Path(__file__).resolve().parents[2]


def test_there_are_25_unique_feature_names_in_a_fixed_order() -> None:
    assert len(spec.FEATURE_NAMES) == 25 == spec.N_FEATURES
    assert len(set(spec.FEATURE_NAMES)) == 25
    assert isinstance(spec.FEATURE_NAMES, tuple)
    assert spec.FEATURE_NAMES[0] == "close_sma50"
    assert spec.FEATURE_NAMES[-1] == "log_close"
    assert all(spec.FEATURE_INDEX[name] == i for i, name in enumerate(spec.FEATURE_NAMES))


def test_every_family_is_covered_and_every_feature_documented() -> None:
    families = {f.family for f in spec.FEATURES}
    assert families == {"trend", "contraction", "volume", "momentum", "circuit", "band", "liquidity"}
    assert all(f.unit and f.description and f.history >= 1 for f in spec.FEATURES)


def test_required_history_covers_every_feature_and_the_lookback_covers_the_band_estimate() -> None:
    assert spec.REQUIRED_HISTORY == max(f.history for f in spec.FEATURES) == 252
    # The 252-date high, days_since_* over 251 dates, and the band estimate's 120 + 60 dates back.
    assert spec.LOOKBACK == 252


def test_feature_set_hash_is_sha256_of_version_and_names() -> None:
    expected = hashlib.sha256("\n".join((spec.FEATURE_SET_VERSION, *spec.FEATURE_NAMES)).encode()).hexdigest()
    assert expected == spec.FEATURE_SET_HASH


def test_feature_set_hash_is_the_same_in_a_fresh_process() -> None:
    code = "from features.spec import FEATURE_SET_HASH; print(FEATURE_SET_HASH)"
    # A different hash seed would expose any dependence on set or dict ordering.
    env = {"PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.strip() == spec.FEATURE_SET_HASH


def test_importing_features_does_not_import_django() -> None:
    code = (
        "import sys, features, features.vcp, features.adjust, features.spec, marketdata.panel; "
        "print(sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": str(REPO)}, check=True
    )
    assert result.stdout.strip() == "[]"


def test_package_exports_the_public_api() -> None:
    for name in ("compute_features", "features_on", "FeatureCube", "FEATURE_NAMES", "FEATURE_SET_HASH", "Panel"):
        assert name in features.__all__
        assert hasattr(features, name)
