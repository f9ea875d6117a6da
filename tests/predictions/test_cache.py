from __future__ import annotations

import datetime as dt

import pytest

from predictions import cache as tiers
from predictions.cache import TwoTierCache, cache_stats, features_key, prediction_key


def test_keys_carry_the_model_version_and_the_feature_set() -> None:
    day = dt.date(2024, 8, 1)
    a = prediction_key(version_id=1, feature_set_hash="abc", instrument_id=5, date=day, explain=False)
    assert a != prediction_key(version_id=2, feature_set_hash="abc", instrument_id=5, date=day, explain=False)
    assert a != prediction_key(version_id=1, feature_set_hash="abd", instrument_id=5, date=day, explain=False)
    assert a != prediction_key(version_id=1, feature_set_hash="abc", instrument_id=5, date=day, explain=True)
    assert features_key(feature_set_hash="abc", instrument_id=5, date=day) != features_key(
        feature_set_hash="abd", instrument_id=5, date=day
    )


def test_a_value_is_found_locally_then_in_the_shared_tier_by_another_process() -> None:
    tier = TwoTierCache(kind="prediction", ttl=60, maxsize=10)
    before = cache_stats()
    tier.set_many({"k": (0.5, True, 0.4, None)})
    assert tier.get("k") == (0.5, True, 0.4, None)
    tier.clear_local()  # what another process sees: only the shared tier
    assert tier.get("k") == (0.5, True, 0.4, None)
    assert tier.get("missing") is None
    after = cache_stats()
    local = after["local"]["prediction"]
    assert local["hits"] - before["local"]["prediction"]["hits"] == 1
    assert local["misses"] - before["local"]["prediction"]["misses"] == 2
    shared = after["redis"]["prediction"]
    assert shared["hits"] - before["redis"]["prediction"]["hits"] == 1
    assert shared["misses"] - before["redis"]["prediction"]["misses"] == 1


def test_the_local_tier_expires_entries_after_the_ttl() -> None:
    now = [1000.0]
    tier = TwoTierCache(kind="features", ttl=300, maxsize=10, timer=lambda: now[0])
    tier.set_many({"k": b"x"}, shared=False)
    now[0] += 299
    assert tier.get("k") == b"x"
    now[0] += 2
    assert tier.get("k") is None


def test_a_shared_cache_outage_is_a_miss_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("redis is down")

    monkeypatch.setattr(tiers.shared_cache, "get_many", down)
    monkeypatch.setattr(tiers.shared_cache, "set_many", down)
    tier = TwoTierCache(kind="prediction", ttl=60, maxsize=10)
    tier.set_many({"k": 1})
    tier.clear_local()
    assert tier.get("k") is None
