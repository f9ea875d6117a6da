from __future__ import annotations

import csv
import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.conf import LazySettings
from django.core.cache import cache
from django.db.models import Count

from common import sharedcache
from common.choices import RunStatus
from features import spec
from features.vcp import features_on
from marketdata.models import Instrument
from marketdata.selectors import bars_panel
from modelregistry.datasets import panel_dataset
from modelregistry.models import ModelVersion
from predictions import services
from predictions.cache import BATCH_PREDICTIONS_TTL, PREDICTIONS_TTL, prediction_key
from predictions.choices import SnapshotSource
from predictions.exceptions import ModelUnavailableError, NoDataForDateError
from predictions.lookups import market_dates
from predictions.models import BatchRun, FeatureSnapshot, Prediction
from predictions.serving import Scored
from tests.conftest import promote
from tests.factories import register_version
from tests.predictions.conftest import Market

pytestmark = pytest.mark.django_db


def test_scoring_a_date_writes_ranked_predictions_snapshots_csv_and_a_run(
    market: Market, production: ModelVersion, settings: LazySettings
) -> None:
    run = services.batch_run_inline(date=market.last, chunk_size=15)

    assert run.status == RunStatus.SUCCEEDED
    n = Prediction.objects.filter(date=market.last, model_version=production).count()
    assert n == run.instruments == run.scored > 0
    assert (run.chunks_total, run.chunks_done) == (-(-n // 15), -(-n // 15))
    ranked = list(
        Prediction.objects.filter(date=market.last).order_by("rank").values_list("rank", "probability", "batch_run")
    )
    assert [r for r, _, _ in ranked] == list(range(1, n + 1))
    assert all(a[1] >= b[1] for a, b in itertools.pairwise(ranked))
    assert {b for _, _, b in ranked} == {run.pk}
    assert FeatureSnapshot.objects.filter(date=market.last, source=SnapshotSource.BATCH).count() == n
    for stage in ("universe", "read_bars", "features", "snapshots", "score", "write", "rank", "export", "total"):
        assert run.timings[stage] >= 0.0
    path = Path(run.export_path)
    assert path == Path(settings.VCP_EXPORT_DIR) / f"predictions_{market.last.isoformat()}.csv"
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == n
    assert rows[0]["rank"] == "1"
    assert rows[0]["date"] == market.last.isoformat()
    assert float(rows[0]["probability"]) == pytest.approx(ranked[0][1], abs=1e-6)


def test_scoring_the_same_date_twice_leaves_one_prediction_per_instrument(
    market: Market, production: ModelVersion
) -> None:
    first = services.batch_run_inline(date=market.last, chunk_size=10)
    second = services.batch_run_inline(date=market.last, chunk_size=10)

    assert Prediction.objects.filter(date=market.last).count() == first.instruments
    assert (second.status, second.scored, second.resumed, second.chunks_total) == (
        RunStatus.SUCCEEDED,
        0,
        first.instruments,
        0,
    )
    assert "resumed" in second.note
    assert Path(second.export_path).is_file()


def test_a_rerun_after_a_crash_scores_only_what_is_missing(market: Market, production: ModelVersion) -> None:
    services.batch_run_inline(date=market.last)
    scored = list(Prediction.objects.filter(date=market.last).order_by("instrument_id"))
    lost = [p.instrument_id for p in scored[::3]]
    before = {p.instrument_id: p.probability for p in scored}
    Prediction.objects.filter(instrument_id__in=lost, date=market.last).delete()

    rerun = services.batch_run_inline(date=market.last, chunk_size=4)

    assert (rerun.scored, rerun.resumed) == (len(lost), len(scored) - len(lost))
    after = dict(Prediction.objects.filter(date=market.last).values_list("instrument_id", "probability"))
    assert after.keys() == before.keys()
    assert after == pytest.approx(before, abs=1e-9)
    ranks = sorted(Prediction.objects.filter(date=market.last).values_list("rank", flat=True))
    assert ranks == list(range(1, len(scored) + 1))


def test_a_chunk_retry_after_its_rows_were_written_changes_nothing(market: Market, production: ModelVersion) -> None:
    run = services.batch_run_inline(date=market.last)
    ids = list(Prediction.objects.filter(date=market.last).values_list("instrument_id", flat=True)[:5])

    again = services.batch_run_chunk_score(batch_run_id=run.pk, instrument_ids=ids)

    run.refresh_from_db()
    assert again["scored"] == 0
    assert run.scored == run.instruments
    assert Prediction.objects.filter(date=market.last).count() == run.instruments


def test_batch_features_equal_features_on_the_whole_stored_panel(market: Market, production: ModelVersion) -> None:
    services.batch_run_inline(date=market.last)
    dates = market_dates(end=market.last, count=spec.LOOKBACK + 1)
    panel = bars_panel(start=dates[0], end=market.last)
    expected = features_on(panel, np.datetime64(market.last, "D"))
    stored = dict(FeatureSnapshot.objects.filter(date=market.last).values_list("instrument_id", "values"))
    for column, instrument_id in enumerate(panel.instrument_ids):
        if int(instrument_id) in stored:
            got = np.array([np.nan if v is None else v for v in stored[int(instrument_id)]], dtype=np.float32)
            np.testing.assert_array_equal(got, expected[column])


def test_the_run_keeps_the_version_it_started_with_and_warms_its_cache(
    market: Market, production: ModelVersion
) -> None:
    run = services.batch_run_inline(date=market.last)
    p = Prediction.objects.filter(date=market.last).order_by("rank").first()
    assert p is not None
    key = prediction_key(
        version_id=production.pk,
        feature_set_hash=spec.FEATURE_SET_HASH,
        instrument_id=p.instrument_id,
        date=market.last,
        explain=False,
    )
    assert cache.get(key) == Scored(
        p.probability, p.will_hit, p.threshold, p.new_circuit_probability, p.will_hit_new, p.strict_probability
    )
    assert run.model_version_id == production.pk
    if sharedcache.is_shared():  # Redis: the batch's answers outlive the night, not just the 1-hour default
        full_key = cache.make_and_validate_key(key)
        ttl = cache._cache.get_client(full_key).ttl(full_key)  # type: ignore[attr-defined]
        assert PREDICTIONS_TTL < ttl <= BATCH_PREDICTIONS_TTL


def test_no_production_model_fails_the_run_with_the_reason(market: Market) -> None:
    with pytest.raises(ModelUnavailableError):
        services.batch_run_inline(date=market.last)
    run = BatchRun.objects.get()
    assert run.status == RunStatus.FAILED
    assert "production model" in run.error
    assert run.finished_at is not None


def test_a_date_without_bars_fails_the_run_naming_the_latest_date(market: Market, production: ModelVersion) -> None:
    with pytest.raises(NoDataForDateError, match=str(market.last)):
        services.batch_run_inline(date=market.last + dt.timedelta(days=1))
    assert BatchRun.objects.get().status == RunStatus.FAILED


def test_a_skipped_day_is_recorded_as_a_heartbeat() -> None:
    run = services.batch_run_skip(day=dt.date(2024, 8, 15), reason="Independence Day")
    assert (run.status, run.note, run.scored) == (RunStatus.SKIPPED, "Independence Day", 0)
    assert run.finished_at is not None


def test_a_failing_chunk_fails_an_inline_run_and_a_rerun_completes_it(
    market: Market, production: ModelVersion, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = services.batch_run_chunk_score
    calls = {"n": 0}

    def second_chunk_fails(*, batch_run_id: int, instrument_ids: list[int], **rest: Any) -> dict[str, object]:
        calls["n"] += 1
        if calls["n"] >= 2:  # the first chunk succeeds, the second fails
            raise RuntimeError("disk full")
        return real(batch_run_id=batch_run_id, instrument_ids=instrument_ids, **rest)

    monkeypatch.setattr(services, "batch_run_chunk_score", second_chunk_fails)
    with pytest.raises(RuntimeError, match="disk full"):
        services.batch_run_inline(date=market.last, chunk_size=10)
    failed = BatchRun.objects.get()
    assert failed.status == RunStatus.FAILED
    assert "disk full" in failed.error
    assert calls["n"] == 2  # inline runs do not retry: the task's retry policy is the task's own
    assert Prediction.objects.filter(date=market.last).count() == 10

    monkeypatch.setattr(services, "batch_run_chunk_score", real)
    rerun = services.batch_run_inline(date=market.last, chunk_size=10)
    assert rerun.status == RunStatus.SUCCEEDED
    assert (rerun.resumed, rerun.scored) == (10, failed.instruments - 10)
    assert Prediction.objects.filter(date=market.last).count() == failed.instruments


def test_a_promotion_between_runs_scores_the_new_version_separately(market: Market, production: ModelVersion) -> None:
    services.batch_run_inline(date=market.last)
    newer = promote(register_version(seed=2))
    run = services.batch_run_inline(date=market.last)
    assert run.model_version_id == newer.pk
    assert run.resumed == 0
    counts = dict(Prediction.objects.filter(date=market.last).values_list("model_version").annotate(n=Count("id")))
    assert counts == {production.pk: run.instruments, newer.pk: run.instruments}


def test_rs_rank63_ranks_the_same_cross_section_as_training(market: Market, production: ModelVersion) -> None:
    # A stock delisted later still traded on the day: training ranks it among the others, so must scoring.
    gone = Instrument.objects.filter(bars__date=market.last).order_by("symbol").first()
    assert gone is not None
    Instrument.objects.filter(pk=gone.pk).update(active=False)
    services.batch_run_inline(date=market.last)
    trained = panel_dataset(bars_panel(start=market.dates[0], end=market.last, active_only=False))
    column = spec.FEATURE_INDEX["rs_rank63"]
    row = int(np.searchsorted(trained.panel.dates, np.datetime64(market.last, "D")))
    expected = {int(pk): trained.cube.values[row, n, column] for n, pk in enumerate(trained.panel.instrument_ids)}
    snapshots = FeatureSnapshot.objects.filter(date=market.last).values_list("instrument_id", "values")
    compared = 0
    for pk, values in snapshots:
        if values[column] is not None:
            assert values[column] == pytest.approx(float(expected[pk]), abs=1e-6)
            compared += 1
    assert compared > 0
    assert not FeatureSnapshot.objects.filter(date=market.last, instrument_id=gone.pk).exists()  # not scored


def test_an_inline_run_scores_the_rows_it_computed_exactly_as_chunks_reading_the_snapshots(
    market: Market, production: ModelVersion
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    plan = services.batch_run_start(date=market.last, chunk_size=7)
    assert set(plan.features) == {i for chunk in plan.chunks for i in chunk}
    with CaptureQueriesContext(connection) as queries:
        for chunk in plan.chunks:
            services.batch_run_chunk_score(batch_run_id=plan.run.pk, instrument_ids=chunk, features=plan.features)
    assert not any("predictions_featuresnapshot" in q["sql"] for q in queries.captured_queries)
    from_memory = dict(Prediction.objects.filter(date=market.last).values_list("instrument_id", "probability"))
    Prediction.objects.filter(date=market.last).delete()
    for chunk in plan.chunks:  # as Celery runs them: from the stored snapshots
        services.batch_run_chunk_score(batch_run_id=plan.run.pk, instrument_ids=chunk)
    from_snapshots = dict(Prediction.objects.filter(date=market.last).values_list("instrument_id", "probability"))
    assert from_memory == from_snapshots
    assert len(from_memory) == len(plan.features)
