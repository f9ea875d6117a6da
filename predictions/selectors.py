"""Reads for the serving path, the batch and the API lists.

The serving-path reads (instrument by symbol, an instrument's latest bar date, the market's recent
trading dates) are cached in-process for a minute: they change once a day, at ingestion, and each
saves a query per request.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cachetools import TTLCache
from django.db import connection
from django.db.models import Max, QuerySet

from marketdata.choices import Exchange
from marketdata.models import DailyBar, Instrument
from modelregistry.choices import DEFAULT_MODEL_NAME, VersionStatus
from modelregistry.models import ModelVersion
from predictions.models import BatchRun, FeatureSnapshot, Prediction

LOOKUP_TTL = 60.0
# When a request names no exchange, NSE wins over BSE: NSE is the primary listing for most stocks.
_EXCHANGE_PREFERENCE = {Exchange.NSE.value: 0, Exchange.BSE.value: 1}


@dataclass(frozen=True)
class InstrumentRef:
    id: int
    symbol: str
    exchange: str
    series: str


_lock = threading.Lock()
_instruments: TTLCache[tuple[str, str], InstrumentRef] = TTLCache(maxsize=50_000, ttl=LOOKUP_TTL)
_latest: TTLCache[int, dt.date] = TTLCache(maxsize=50_000, ttl=LOOKUP_TTL)
_market_dates: TTLCache[tuple[dt.date, int], tuple[dt.date, ...]] = TTLCache(maxsize=64, ttl=LOOKUP_TTL)


def lookups_clear() -> None:
    with _lock:
        _instruments.clear()
        _latest.clear()
        _market_dates.clear()


def normalise_symbol(symbol: str) -> str:
    return symbol.strip().upper()


def instruments_resolve(*, requests: Sequence[tuple[str, str | None]]) -> list[InstrumentRef | None]:
    """Instrument for each ``(symbol, exchange or None)``; None where no such instrument exists."""
    wanted = [(normalise_symbol(s), e or "") for s, e in requests]
    found: dict[tuple[str, str], InstrumentRef] = {}
    with _lock:
        for key in wanted:
            hit = _instruments.get(key)
            if hit is not None:
                found[key] = hit
    missing = {s for (s, e) in wanted if (s, e) not in found}
    if missing:
        rows = Instrument.objects.filter(symbol__in=missing).values_list("id", "symbol", "exchange", "series")
        by_symbol: dict[str, list[InstrumentRef]] = {}
        for pk, symbol, exchange, series in rows:
            by_symbol.setdefault(symbol, []).append(InstrumentRef(pk, symbol, exchange, series))
        fresh: dict[tuple[str, str], InstrumentRef] = {}
        for symbol, refs in by_symbol.items():
            refs.sort(key=lambda r: _EXCHANGE_PREFERENCE.get(r.exchange, 9))
            fresh[(symbol, "")] = refs[0]
            for ref in refs:
                fresh[(symbol, ref.exchange)] = ref
        with _lock:
            _instruments.update(fresh)
        found.update(fresh)
    return [found.get(key) for key in wanted]


def latest_bar_dates(*, instrument_ids: Iterable[int]) -> dict[int, dt.date]:
    """Each instrument's latest bar date (instruments without bars are absent)."""
    ids = set(instrument_ids)
    out: dict[int, dt.date] = {}
    with _lock:
        for pk in ids:
            hit = _latest.get(pk)
            if hit is not None:
                out[pk] = hit
    missing = ids - set(out)
    if missing:
        rows = (
            DailyBar.objects.filter(instrument_id__in=missing)
            .values("instrument_id")
            .annotate(latest=Max("date"))
            .values_list("instrument_id", "latest")
        )
        fresh = dict(rows)
        with _lock:
            _latest.update(fresh)
        out.update(fresh)
    return out


def market_dates(*, end: dt.date, count: int) -> tuple[dt.date, ...]:
    """The last ``count`` stored trading dates up to ``end`` (inclusive), ascending.

    A recursive "loose index scan": one index probe per date instead of a DISTINCT over millions of
    bars (about 300 index probes against scanning every bar of the period).
    """
    key = (end, count)
    with _lock:
        hit = _market_dates.get(key)
    if hit is not None:
        return hit
    table = connection.ops.quote_name(DailyBar._meta.db_table)
    sql = (
        "WITH RECURSIVE d(day, n) AS ("
        f" SELECT (SELECT MAX(date) FROM {table} WHERE date <= %s), 1"
        " UNION ALL"
        f" SELECT (SELECT MAX(b.date) FROM {table} b WHERE b.date < d.day), n + 1"
        " FROM d WHERE d.day IS NOT NULL AND n < %s"
        ") SELECT day FROM d WHERE day IS NOT NULL ORDER BY day"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [end, count])
        rows = cursor.fetchall()
    dates = tuple(_as_date(r[0]) for r in rows)
    with _lock:
        _market_dates[key] = dates
    return dates


def _as_date(value: Any) -> dt.date:
    # SQLite returns ISO strings from a CTE, PostgreSQL returns dates.
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def feature_snapshots_get(
    *, pairs: Iterable[tuple[int, dt.date]], feature_set_hash: str
) -> dict[tuple[int, dt.date], list[float | None]]:
    """Stored feature vectors for ``(instrument_id, date)`` pairs, in ``features.spec`` order."""
    wanted = set(pairs)
    if not wanted:
        return {}
    ids = {i for i, _ in wanted}
    dates = {d for _, d in wanted}
    rows = FeatureSnapshot.objects.filter(
        instrument_id__in=ids, date__in=dates, feature_set_hash=feature_set_hash
    ).values_list("instrument_id", "date", "values")
    return {(i, d): values for i, d, values in rows if (i, d) in wanted}


def instruments_with_bar_on(*, date: dt.date) -> list[int]:
    """Active instruments with a bar on ``date``: the universe a batch run scores, ascending ids."""
    return list(
        DailyBar.objects.filter(date=date, instrument__active=True)
        .order_by("instrument_id")
        .values_list("instrument_id", flat=True)
    )


def instruments_scored(*, date: dt.date, model_version_id: int) -> set[int]:
    return set(
        Prediction.objects.filter(date=date, model_version_id=model_version_id).values_list("instrument_id", flat=True)
    )


def production_version_id(*, name: str = DEFAULT_MODEL_NAME) -> int | None:
    return ModelVersion.objects.filter(name=name, status=VersionStatus.PRODUCTION).values_list("pk", flat=True).first()


def predictions_latest_date(*, model_version_id: int | None = None) -> dt.date | None:
    qs = Prediction.objects.all()
    if model_version_id is not None:
        qs = qs.filter(model_version_id=model_version_id)
    value: dt.date | None = qs.aggregate(latest=Max("date"))["latest"]
    return value


def predictions_default_version(*, date: dt.date) -> int | None:
    """The production version when it scored ``date``, else the version that scored it last."""
    production = production_version_id()
    on_date = Prediction.objects.filter(date=date)
    if production is not None and on_date.filter(model_version_id=production).exists():
        return production
    return on_date.order_by("-created_at", "-id").values_list("model_version_id", flat=True).first()


ORDERINGS: dict[str, tuple[str, ...]] = {
    "rank": ("rank", "instrument__symbol"),
    "-probability": ("-probability", "instrument__symbol"),
    "probability": ("probability", "instrument__symbol"),
    "symbol": ("instrument__symbol", "instrument__exchange"),
    "-symbol": ("-instrument__symbol", "-instrument__exchange"),
}


def predictions_ranked(
    *,
    date: dt.date,
    model_version_id: int,
    min_probability: float | None = None,
    series: str | None = None,
    will_hit: bool | None = None,
    ordering: str = "rank",
) -> QuerySet[Prediction]:
    """One day's predictions of one model version, filtered and ordered (rank 1 = most likely)."""
    qs = Prediction.objects.filter(date=date, model_version_id=model_version_id).select_related(
        "instrument", "model_version"
    )
    if min_probability is not None:
        qs = qs.filter(probability__gte=min_probability)
    if series:
        qs = qs.filter(series=series.upper())
    if will_hit is not None:
        qs = qs.filter(will_hit=will_hit)
    return qs.order_by(*ORDERINGS[ordering])


def predictions_export_rows(*, date: dt.date, model_version_id: int) -> list[tuple[Any, ...]]:
    """``(rank, symbol, exchange, series, probability, will_hit, threshold)`` by rank."""
    return list(
        Prediction.objects.filter(date=date, model_version_id=model_version_id)
        .order_by("rank", "instrument_id")
        .values_list(
            "rank", "instrument__symbol", "instrument__exchange", "series", "probability", "will_hit", "threshold"
        )
    )


def model_versions() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.order_by("name", "-version")


def batch_run_get(*, pk: int) -> BatchRun:
    return BatchRun.objects.select_related("model_version").get(pk=pk)
