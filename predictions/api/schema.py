"""OpenAPI examples and error responses shared by the prediction API's views."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiExample, OpenApiResponse

from features import spec
from predictions.api.serializers import ErrorSerializer

PREDICTION_EXAMPLE: dict[str, Any] = {
    "symbol": "RELIANCE",
    "exchange": "NSE",
    "date": "2024-08-01",
    "probability": 0.0831,
    "will_hit_upper_circuit": False,
    "threshold": 0.31,
    "model": {"name": "upper-circuit", "version": 3},
    "served_from": "snapshot",
}

EXPLAINED_EXAMPLE: dict[str, Any] = {
    **PREDICTION_EXAMPLE,
    "symbol": "SUZLON",
    "probability": 0.4125,
    "will_hit_upper_circuit": True,
    "explanation": [
        {"feature": "days_since_uc", "value": 0.0, "contribution": 1.62},
        {"feature": "uc_count20", "value": 3.0, "contribution": 0.88},
        {"feature": "band_pct", "value": 5.0, "contribution": 0.41},
        {"feature": "log_close", "value": 3.9, "contribution": 0.27},
        {"feature": "return_1d", "value": 0.05, "contribution": 0.19},
    ],
}

WHAT_IF_FEATURES: dict[str, float] = dict.fromkeys(spec.FEATURE_NAMES, 0.0) | {
    "band_pct": 5.0,
    "log_close": 3.9,
    "log_traded_value20": 16.2,
    "days_since_uc": 0.0,
    "uc_count20": 3.0,
    "uc_count60": 4.0,
}

RANKED_EXAMPLE: dict[str, Any] = {
    "rank": 1,
    "symbol": "SUZLON",
    "exchange": "NSE",
    "series": "EQ",
    "date": "2024-08-01",
    "probability": 0.4125,
    "will_hit_upper_circuit": True,
    "threshold": 0.31,
    "model": {"name": "upper-circuit", "version": 3},
}

MODEL_VERSION_EXAMPLE: dict[str, Any] = {
    "id": 7,
    "name": "upper-circuit",
    "version": 3,
    "algorithm": "xgboost",
    "status": "production",
    "threshold": 0.31,
    "horizon": 1,
    "feature_names": list(spec.FEATURE_NAMES),
    "feature_set_hash": spec.FEATURE_SET_HASH,
    "metrics": {"all": {"model": {"pr_auc": 0.48, "f1": 0.5}}, "new_circuits": {"model": {"pr_auc": 0.21}}},
    "train_start": "2015-06-01",
    "train_end": "2021-06-30",
    "valid_end": "2021-12-31",
    "test_end": "2022-12-30",
    "created_at": "2024-08-01T18:10:00+05:30",
    "promoted_at": "2024-08-01T18:20:00+05:30",
    "rolled_back_at": None,
}

PREDICT_REQUEST_EXAMPLES = [
    OpenApiExample("Latest date", value={"symbol": "RELIANCE"}, request_only=True),
    OpenApiExample(
        "A date, with an explanation",
        value={"symbol": "SUZLON", "exchange": "NSE", "date": "2024-08-01", "explain": True},
        request_only=True,
    ),
    OpenApiExample(
        "What-if feature vector",
        value={"symbol": "SUZLON", "features": WHAT_IF_FEATURES},
        request_only=True,
    ),
    OpenApiExample("Prediction", value=PREDICTION_EXAMPLE, response_only=True, status_codes=["200"]),
    OpenApiExample("With explanation", value=EXPLAINED_EXAMPLE, response_only=True, status_codes=["200"]),
]


def _error(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(description: str, *examples: tuple[str, dict[str, Any]]) -> OpenApiResponse:
    return OpenApiResponse(
        ErrorSerializer,
        description=description,
        examples=[OpenApiExample(name, value=value, response_only=True) for name, value in examples],
    )


BAD_QUERY = error_response(
    "A query parameter is invalid; field errors under details.fields.",
    (
        "Invalid parameter",
        _error(
            "invalid_request",
            "The request has invalid fields; see details.",
            {"fields": {"page_size": ["An integer from 1 to 500."]}},
        ),
    ),
)
BAD_REQUEST = error_response(
    "Malformed body or invalid fields (NaN/Infinity included); field errors under details.fields.",
    (
        "Invalid field",
        _error(
            "invalid_request",
            "The request has invalid fields; see details.",
            {
                "fields": {
                    "features": {"close_sma50": ["A finite number is required (NaN and Infinity are not allowed)."]}
                }
            },
        ),
    ),
    ("Malformed JSON", _error("malformed_json", "JSON parse error - Expecting value: line 1 column 1 (char 0)")),
)
UNAUTHORIZED = error_response(
    "Missing or wrong API token.",
    ("No token", _error("not_authenticated", "Authentication credentials were not provided.")),
    ("Wrong token", _error("authentication_failed", "Invalid token.")),
)
NOT_FOUND_SYMBOL = error_response(
    "Unknown symbol, or no bar for the requested date (details name the latest available date).",
    ("Unknown symbol", _error("unknown_symbol", "Unknown symbol 'NOSUCH'.")),
    (
        "No bar on the date",
        _error(
            "no_data_for_date",
            "RELIANCE has no bar on 2024-08-03.",
            {"latest_available_date": "2024-08-02"},
        ),
    ),
)
NOT_FOUND = error_response(
    "No such object.", ("Not found", _error("not_found", "No ModelVersion matches the given query."))
)
THROTTLED = error_response(
    "This token's request budget is spent; retry after the given seconds.",
    (
        "Throttled",
        _error("throttled", "Request was throttled. Expected available in 12 seconds.", {"retry_after_seconds": 12}),
    ),
)
UNAVAILABLE = error_response(
    "No production model is available (promote one).",
    (
        "No production model",
        _error("model_unavailable", "No production model is available; promote a model version first."),
    ),
)
NOT_READY = error_response(
    "Not ready: a dependency failed; details.checks says which and why.",
    (
        "No model",
        _error(
            "not_ready",
            "Not ready: model.",
            {
                "checks": {
                    "database": {"ok": True, "detail": "postgresql"},
                    "cache": {"ok": True, "detail": "RedisCache"},
                    "model": {
                        "ok": False,
                        "detail": "No production model is available; promote a model version first.",
                    },
                }
            },
        ),
    ),
)


class StrictSerializerExtension(OpenApiSerializerExtension):
    """Request bodies refuse unknown keys (``_StrictSerializer``), so their schemas say so."""

    target_class = "predictions.api.serializers._StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["additionalProperties"] = False
        return schema
