"""OpenAPI examples and error responses shared by the prediction API's views."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample

from common.api.schema import error_example, error_response
from features import spec

PREDICTION_EXAMPLE: dict[str, Any] = {
    "symbol": "RELIANCE",
    "exchange": "NSE",
    "date": "2024-08-01",
    "probability": 0.0831,
    "will_hit_upper_circuit": False,
    "threshold": 0.31,
    "new_circuit_probability": 0.0831,
    "will_hit_new_circuit": False,
    "strict_probability": 0.0831,
    "model": {"name": "upper-circuit", "version": 3},
    "served_from": "snapshot",
}

EXPLAINED_EXAMPLE: dict[str, Any] = {
    **PREDICTION_EXAMPLE,
    "symbol": "SUZLON",
    "probability": 0.4125,
    "will_hit_upper_circuit": True,
    "new_circuit_probability": None,
    "will_hit_new_circuit": False,
    "strict_probability": 0.4125,
    "explanation": [
        {"feature": "days_since_lock", "value": 0.0, "contribution": 1.62},
        {"feature": "lock_count20", "value": 3.0, "contribution": 0.88},
        {"feature": "band_pct", "value": 5.0, "contribution": 0.41},
        {"feature": "log_close", "value": 3.9, "contribution": 0.27},
        {"feature": "return_1d", "value": 0.05, "contribution": 0.19},
    ],
}

WHAT_IF_FEATURES: dict[str, float] = dict.fromkeys(spec.FEATURE_NAMES, 0.0) | {
    "band_pct": 5.0,
    "log_close": 3.9,
    "log_traded_value20": 16.2,
    "days_since_lock": 0.0,
    "lock_count20": 3.0,
    "lock_count60": 4.0,
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
    "new_circuit_probability": None,
    "will_hit_new_circuit": False,
    "strict_probability": 0.4125,
    "model": {"name": "upper-circuit", "version": 3},
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


NOT_FOUND_SYMBOL = error_response(
    "Unknown symbol, or no bar for the requested date (details name the latest available date).",
    ("Unknown symbol", error_example("unknown_symbol", "Unknown symbol 'NOSUCH'.")),
    (
        "No bar on the date",
        error_example(
            "no_data_for_date",
            "RELIANCE has no bar on 2024-08-03.",
            {"latest_available_date": "2024-08-02"},
        ),
    ),
)
UNAVAILABLE = error_response(
    "No production model can serve (none promoted, or its artifacts failed their checksums), or the database "
    "is unavailable (service_unavailable; retry after the Retry-After header's seconds).",
    (
        "No production model",
        error_example(
            "model_unavailable",
            "No production model is available; promote a model version first.",
            {"reason": "no_production_model"},
        ),
    ),
    (
        "Database unavailable",
        error_example(
            "service_unavailable",
            "The service is temporarily unavailable; retry in a few seconds.",
            {"retry_after_seconds": 5},
        ),
    ),
)
NOT_READY = error_response(
    "Not ready: a dependency failed; details.checks says which and why.",
    (
        "No model",
        error_example(
            "not_ready",
            "Not ready: model.",
            {
                "checks": {
                    "database": {"ok": True, "state": "ok"},
                    "cache": {"ok": True, "state": "ok"},
                    "model": {"ok": False, "state": "unavailable"},
                }
            },
        ),
    ),
)
TOO_EXPENSIVE = error_response(
    "The items without stored features would read more stored bars than one request may "
    "(VCP_BATCH_COMPUTE_MAX_BARS); split the request, or ask for dates the nightly batch has scored.",
    (
        "Compute budget exceeded",
        error_example(
            "compute_budget_exceeded",
            "Computing the features of 1500 items without stored snapshots would read 466,500 stored bars; one "
            "request may read 400,000. Split the request into smaller ones, or ask for dates the nightly batch "
            "has scored.",
            {"items_to_compute": 1500, "bars_to_read": 466500, "max_bars": 400000},
        ),
    ),
)
