"""One JSON error shape for every API response: {"error": {"code", "message", "details"}}.

DRF's own errors (validation, auth, throttling, 404) and the platform's ``ApiError`` subclasses
are all rewritten here, so clients parse exactly one shape. Anything unexpected is logged with the
trace id and returned as a 500 in the same shape, without internals.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from common.exceptions import DomainError

logger = logging.getLogger("vcp.api")


class ApiError(exceptions.APIException):
    """A platform error with a stable machine-readable ``code`` and optional ``details``."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"
    default_detail = "The request could not be processed."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(detail=message or self.default_detail, code=self.default_code)
        self.details = details or {}


class NotFoundError(ApiError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"
    default_detail = "Not found."


def api_error_from(exc: DomainError) -> ApiError:
    """The HTTP error for a domain error: its code, details and the status its kind names."""
    error = ApiError(exc.message, details=exc.details)
    error.status_code = exc.http_status
    error.default_code = exc.code
    return error


_CODE_BY_CLASS: dict[type[exceptions.APIException], str] = {
    exceptions.ValidationError: "invalid_request",
    exceptions.ParseError: "malformed_json",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _message_of(detail: Any) -> str:
    if isinstance(detail, (list, tuple)) and detail:
        return _message_of(detail[0])
    if isinstance(detail, dict):
        return "The request has invalid fields; see details."
    return str(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        exc = api_error_from(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        return Response(
            error_body("internal_error", "An internal error occurred; quote the X-Request-ID when reporting it."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    assert isinstance(exc, exceptions.APIException)
    if isinstance(exc, ApiError):
        code, message, details = exc.default_code, str(exc.detail), exc.details
    else:
        code = _CODE_BY_CLASS.get(type(exc), exc.default_code if isinstance(exc.default_code, str) else "error")
        message = _message_of(exc.detail)
        details = {"fields": exc.detail} if isinstance(exc, exceptions.ValidationError) else {}
        wait = getattr(exc, "wait", None)
        if isinstance(exc, exceptions.Throttled) and wait is not None:
            details = {"retry_after_seconds": int(wait)}
    response.data = error_body(code, message, details)
    return response


def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Unknown URLs under /api/ answer in the API's error shape, not Django's HTML 404 page."""
    return JsonResponse(
        error_body("not_found", f"No API endpoint at {request.path}; the endpoints are listed at /api/docs/."),
        status=status.HTTP_404_NOT_FOUND,
    )
