"""OpenAPI error responses every endpoint shares, and the schema rule for strict request bodies."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiExample, OpenApiResponse

from common.api.serializers import ErrorSerializer


def error_example(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
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
        error_example(
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
        error_example(
            "invalid_request",
            "The request has invalid fields; see details.",
            {
                "fields": {
                    "features": {"close_sma50": ["A finite number is required (NaN and Infinity are not allowed)."]}
                }
            },
        ),
    ),
    ("Malformed JSON", error_example("malformed_json", "JSON parse error - Expecting value: line 1 column 1 (char 0)")),
)

UNAUTHORIZED = error_response(
    "Missing or wrong API token.",
    ("No token", error_example("not_authenticated", "Authentication credentials were not provided.")),
    ("Wrong token", error_example("authentication_failed", "Invalid token.")),
)

NOT_FOUND = error_response(
    "No such object.", ("Not found", error_example("not_found", "No ModelVersion matches the given query."))
)

THROTTLED = error_response(
    "This token's request budget is spent; retry after the given seconds.",
    (
        "Throttled",
        error_example(
            "throttled", "Request was throttled. Expected available in 12 seconds.", {"retry_after_seconds": 12}
        ),
    ),
)

AUTH_ERRORS = {401: UNAUTHORIZED, 429: THROTTLED}


class StrictSerializerExtension(OpenApiSerializerExtension):
    """Request bodies refuse unknown keys (``StrictSerializer``), so their schemas say so."""

    target_class = "common.api.serializers.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["additionalProperties"] = False
        return schema
