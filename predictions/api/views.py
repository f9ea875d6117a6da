"""The prediction API's views: validate, call one service or selector, shape the answer."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api import schema as api_schema
from common.api.authentication import CachedTokenAuthentication
from common.api.errors import RETRY_AFTER_SECONDS, api_error_from, error_body
from common.api.pagination import StrictPageNumberPagination
from common.api.parsers import LenientJSONParser
from common.api.schema import AUTH_ERRORS
from common.metrics import observe_prediction
from predictions import selectors, serving
from predictions.api import schema
from predictions.api.fastpath import batch_items_fast, predict_request_fast
from predictions.api.hotpath import THROTTLED_WAIT_ATTR, hot_path_applies, predict_hot
from predictions.api.serializers import (
    BatchPredictRequestSerializer,
    BatchPredictResponseSerializer,
    HealthSerializer,
    PredictionListQuerySerializer,
    PredictionResponseSerializer,
    PredictRequestSerializer,
    RankedPredictionSerializer,
    ReadySerializer,
)
from predictions.cache import cache_stats
from predictions.exceptions import PredictionError
from predictions.health import readiness
from predictions.models import Prediction
from predictions.serving import PredictItem, ServedPrediction

_UNSET = object()


def actor_for(auth: Any, user: Any) -> str:
    """Who asked, for the audit log: the token's first 8 characters (never the whole key) and the user."""
    token = getattr(auth, "key", None)
    name = user.get_username() if user and user.is_authenticated else "anonymous"
    return f"token:{token[:8]} user:{name}" if token else f"user:{name}"


def actor_of(request: Request) -> str:
    return actor_for(request.auth, request.user)


def _observe(endpoint: str, seconds: float, served: ServedPrediction | None) -> None:
    observe_prediction(
        endpoint=endpoint,
        model_version=f"{served.model_name} v{served.model_version}" if served else "none",
        outcome="error" if served is None else ("positive" if served.will_hit else "negative"),
        seconds=seconds,
    )


class PredictView(APIView):
    parser_classes = [LenientJSONParser]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # The everyday call skips DRF's per-request machinery, same components (predictions/api/hotpath.py).
        if hot_path_applies(self):
            response = predict_hot(self, request, actor_for, _observe)
            if response is not None:
                return response
        return super().dispatch(request, *args, **kwargs)

    def check_throttles(self, request: Request) -> None:
        # The hot path already counted this request and was refused: answer 429 without counting it twice.
        wait: Any = getattr(request._request, THROTTLED_WAIT_ATTR, _UNSET)
        if wait is _UNSET:
            super().check_throttles(request)
        else:
            self.throttled(request, wait)

    @extend_schema(
        operation_id="predict",
        tags=["predictions"],
        summary="Predict one stock's next-day upper circuit",
        description=(
            "Scores the stored features of `symbol` as of `date` (default: its latest bar) with the production "
            "model. `explain: true` adds the top 5 feature contributions; `features` scores a what-if vector "
            "instead of stored data."
        ),
        request=PredictRequestSerializer,
        responses={
            200: PredictionResponseSerializer,
            400: api_schema.BAD_REQUEST,
            404: schema.NOT_FOUND_SYMBOL,
            413: schema.TOO_EXPENSIVE,
            503: schema.UNAVAILABLE,
            **AUTH_ERRORS,
        },
        examples=schema.PREDICT_REQUEST_EXAMPLES,
    )
    def post(self, request: Request) -> Response:
        started = time.perf_counter()
        served = None
        try:
            fast = predict_request_fast(request.data)
            if fast is not None:  # the common, well-formed body: no serializer pass (fastpath.py)
                item, explain = fast
                served = serving.prediction_serve(
                    symbol=item.symbol, exchange=item.exchange, date=item.date, explain=explain, actor=actor_of(request)
                )
            else:
                serializer = PredictRequestSerializer(data=request.data)
                serializer.is_valid(raise_exception=True)
                data = serializer.validated_data
                served = serving.prediction_serve(
                    symbol=data["symbol"],
                    exchange=data.get("exchange"),
                    date=data.get("date"),
                    explain=data["explain"],
                    features=data.get("features"),
                    actor=actor_of(request),
                )
        finally:
            _observe("predict", time.perf_counter() - started, served)
        return Response(serving.served_as_dict(served))


class BatchPredictView(APIView):
    parser_classes = [LenientJSONParser]

    @extend_schema(
        operation_id="batch_predict",
        tags=["predictions"],
        summary="Predict many stocks in one call",
        description=(
            "Up to `VCP_BATCH_PREDICT_LIMIT` items (default 1,000). Each item succeeds or fails on its own: "
            "an unknown symbol or a date without a bar is reported in that item's `error`. Repeated items are "
            "scored once. Items without stored features are computed together from the bars, up to "
            "`VCP_BATCH_COMPUTE_MAX_BARS` stored bars per request (413 `compute_budget_exceeded` beyond)."
        ),
        request=BatchPredictRequestSerializer,
        responses={
            200: BatchPredictResponseSerializer,
            400: api_schema.BAD_REQUEST,
            413: schema.TOO_EXPENSIVE,
            503: schema.UNAVAILABLE,
            **AUTH_ERRORS,
        },
        examples=[
            OpenApiExample(
                "Two symbols",
                value={"items": [{"symbol": "RELIANCE"}, {"symbol": "NOSUCH", "exchange": "NSE"}]},
                request_only=True,
            ),
            OpenApiExample(
                "One ok, one unknown",
                value={
                    "count": 2,
                    "succeeded": 1,
                    "failed": 1,
                    "results": [
                        {"index": 0, "symbol": "RELIANCE", "prediction": schema.PREDICTION_EXAMPLE},
                        {
                            "index": 1,
                            "symbol": "NOSUCH",
                            "error": {
                                "code": "unknown_symbol",
                                "message": "Unknown symbol 'NOSUCH' on NSE.",
                                "details": {},
                            },
                        },
                    ],
                },
                response_only=True,
                status_codes=["200"],
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        started = time.perf_counter()
        fast = batch_items_fast(request.data, limit=settings.VCP_BATCH_PREDICT_LIMIT)
        if fast is not None:  # a well-formed body: 1,000 items through the serializer cost ~0.2 s
            items = [PredictItem(symbol=it.symbol, exchange=it.exchange, date=it.date) for it in fast[0]]
            explain = fast[1]
        else:
            serializer = BatchPredictRequestSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            items = [
                PredictItem(symbol=it["symbol"], exchange=it.get("exchange"), date=it.get("date"))
                for it in serializer.validated_data["items"]
            ]
            explain = serializer.validated_data["explain"]
        try:
            outcomes = serving.predictions_serve(items=items, explain=explain, actor=actor_of(request))
        except PredictionError:
            _observe("batch_predict", time.perf_counter() - started, None)
            raise
        results: list[dict[str, Any]] = []
        for index, (item, outcome) in enumerate(zip(items, outcomes, strict=True)):
            if isinstance(outcome, PredictionError):
                code = api_error_from(outcome).default_code
                error = error_body(str(code), outcome.message, outcome.details)
                results.append({"index": index, "symbol": item.symbol, **error})
            else:
                prediction = serving.served_as_dict(outcome)
                results.append({"index": index, "symbol": outcome.symbol, "prediction": prediction})
        failed = sum(1 for r in results if "error" in r)
        # One observation per item, each with its share of the call's time: the counters count predictions.
        share = (time.perf_counter() - started) / max(len(outcomes), 1)
        for outcome in outcomes:
            _observe("batch_predict", share, outcome if isinstance(outcome, ServedPrediction) else None)
        return Response(
            {"count": len(results), "succeeded": len(results) - failed, "failed": failed, "results": results}
        )


@extend_schema_view(
    get=extend_schema(
        operation_id="predictions_list",
        tags=["predictions"],
        summary="The day's ranked candidates",
        description=(
            "One day's batch predictions of one model version, ranked (1 = most likely). Defaults: the latest "
            "scored date and the production version (or the version that scored that date)."
        ),
        parameters=[PredictionListQuerySerializer],
        responses={
            200: RankedPredictionSerializer(many=True),
            400: api_schema.BAD_QUERY,
            404: api_schema.NOT_FOUND,
            **AUTH_ERRORS,
        },
        examples=[OpenApiExample("Top candidate", value=schema.RANKED_EXAMPLE, response_only=True)],
    )
)
class PredictionListView(ListAPIView):
    serializer_class = RankedPredictionSerializer  # documents the rows; list() builds them from values()
    pagination_class = StrictPageNumberPagination

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Plain rows from one joined query: a ModelSerializer per row cost more than the query did
        # for page_size=500 (issue 14: <= 50 ms).
        page = self.paginate_queryset(self.get_queryset().values_list(*RANKED_COLUMNS))
        assert page is not None  # pagination_class is set
        return self.get_paginated_response([ranked_row(row) for row in page])

    def get_queryset(self) -> QuerySet[Prediction]:
        query = PredictionListQuerySerializer(data=self.request.query_params.dict())
        query.is_valid(raise_exception=True)
        params = query.validated_data
        version_id = params.get("model_version")
        date = params.get("date") or selectors.predictions_latest_date(model_version_id=version_id)
        if date is None:
            return Prediction.objects.none()
        version_id = version_id or selectors.predictions_default_version(date=date)
        if version_id is None:
            return Prediction.objects.none()
        return selectors.predictions_ranked(
            date=date,
            model_version_id=version_id,
            min_probability=params.get("min_probability"),
            series=params.get("series"),
            will_hit=params.get("will_hit"),
            fresh=params.get("fresh"),
            # Fresh candidates rank by their own probability unless the client asked for an order.
            ordering=(
                "-new_circuit_probability"
                if params.get("fresh") and "ordering" not in self.request.query_params
                else params["ordering"]
            ),
        )


RANKED_COLUMNS = (
    "rank",
    "instrument__symbol",
    "instrument__exchange",
    "series",
    "date",
    "probability",
    "will_hit",
    "threshold",
    "new_circuit_probability",
    "will_hit_new",
    "strict_probability",
    "model_version__name",
    "model_version__version",
)


def ranked_row(row: tuple[Any, ...]) -> dict[str, Any]:
    """One ``RANKED_COLUMNS`` row in the shape of ``RankedPredictionSerializer``."""
    rank, symbol, exchange, series, date, probability, will_hit, threshold, fresh, will_hit_new, strict, name, ver = row
    return {
        "rank": rank,
        "symbol": symbol,
        "exchange": exchange,
        "series": series,
        "date": date.isoformat(),
        "probability": probability,
        "will_hit_upper_circuit": will_hit,
        "threshold": threshold,
        "new_circuit_probability": fresh,
        "will_hit_new_circuit": will_hit_new,
        "strict_probability": strict,
        "model": {"name": name, "version": ver},
    }


class HealthView(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes: list[type] = []

    @extend_schema(
        operation_id="health",
        tags=["health"],
        summary="Liveness",
        auth=[],
        responses={200: OpenApiResponse(HealthSerializer, examples=[OpenApiExample("Alive", value={"status": "ok"})])},
    )
    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


class ReadyView(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes: list[type] = []

    @extend_schema(
        operation_id="health_ready",
        tags=["health"],
        summary="Readiness: database, cache and production model",
        description=(
            "Each dependency's state for anyone; the reasons (`detail`) and this process's cache counts for staff "
            "(a staff token or session). A shared-cache outage is `degraded`, still 200: predictions are served "
            "without it."
        ),
        auth=[],
        responses={
            200: OpenApiResponse(
                ReadySerializer,
                examples=[
                    OpenApiExample(
                        "Ready",
                        value={
                            "status": "ready",
                            "checks": {
                                "database": {"ok": True, "state": "ok", "detail": "postgresql"},
                                "cache": {"ok": True, "state": "ok", "detail": "RedisCache"},
                                "model": {"ok": True, "state": "ok", "detail": "upper-circuit v3 loaded in 0.041s"},
                            },
                            "cache": {
                                "local": {
                                    "features": {"hits": 10, "misses": 2},
                                    "prediction": {"hits": 40, "misses": 12},
                                },
                                "redis": {"features": {"hits": 1, "misses": 1}, "prediction": {"hits": 8, "misses": 4}},
                            },
                        },
                    )
                ],
            ),
            503: schema.NOT_READY,
        },
    )
    def get(self, request: Request) -> Response:
        results = readiness()
        staff = _is_staff(request)
        checks: dict[str, dict[str, Any]] = {
            name: {"ok": c.ok, "state": c.state, **({"detail": c.detail} if staff else {})}
            for name, c in results.items()
        }
        extra: dict[str, Any] = {"checks": checks, **({"cache": cache_stats()} if staff else {})}
        failing = [name for name, c in results.items() if not c.ok and c.required]
        if failing:
            body = error_body("not_ready", f"Not ready: {', '.join(failing)}.", extra)
            response = Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE)
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        degraded = [name for name, c in results.items() if not c.ok]
        return Response({"status": "degraded" if degraded else "ready", **extra})


def _is_staff(request: Request) -> bool:
    """Whether the caller is staff (token or session), without ever refusing the probe: a wrong token,
    or a database that cannot look the token up, just means the bare answer."""
    for authenticator in (CachedTokenAuthentication(), SessionAuthentication()):
        try:
            found = authenticator.authenticate(request)
        except Exception:  # AuthenticationFailed, or the database is down: not staff
            return False
        if found is not None:
            return bool(getattr(found[0], "is_staff", False))
    return False
