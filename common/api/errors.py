"""One JSON error shape for every API response: {"error": {"code", "message", "details"}}.

DRF's own errors (validation, auth, throttling, 404) and the platform's ``ApiError`` subclasses
are all rewritten here, so clients parse exactly one shape. Anything unexpected is logged with the
trace id and returned as a 500 in the same shape, without internals.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
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


class ServiceUnavailableError(ApiError):
    """A dependency (PostgreSQL) is down or not answering in time: retry shortly."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"
    default_detail = "The service is temporarily unavailable; retry in a few seconds."


class RequestTooLargeError(ApiError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = "The request body is too large."


# Seconds a client should wait after a 503 (the Retry-After header and details.retry_after_seconds).
RETRY_AFTER_SECONDS = 5


def service_unavailable_body() -> dict[str, Any]:
    return error_body(
        ServiceUnavailableError.default_code,
        str(ServiceUnavailableError.default_detail),
        {"retry_after_seconds": RETRY_AFTER_SECONDS},
    )


def request_too_large_body(limit: int) -> dict[str, Any]:
    return error_body(
        RequestTooLargeError.default_code,
        f"The request body is larger than {limit} bytes.",
        {"max_bytes": limit},
    )


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
    elif isinstance(exc, OperationalError | InterfaceError):
        # The database is down, refusing connections or not answering within its timeouts
        # (docs/reliability.md): a retryable 503, never a 500 and never a hung request.
        logger.warning("database unavailable", extra={"error": f"{type(exc).__name__}: {exc}"})
        exc = ServiceUnavailableError(details={"retry_after_seconds": RETRY_AFTER_SECONDS})
    elif isinstance(exc, RequestDataTooBig):
        from django.conf import settings

        exc = RequestTooLargeError(
            request_too_large_body(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)["error"]["message"],
            details={"max_bytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
        )
    elif isinstance(exc, TooManyFieldsSent):
        exc = ApiError("Too many fields in the request.")

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
    if response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Unknown URLs under /api/ answer in the API's error shape, not Django's HTML 404 page."""
    return JsonResponse(
        error_body("not_found", f"No API endpoint at {request.path}; the endpoints are listed at /api/docs/."),
        status=status.HTTP_404_NOT_FOUND,
    )


def server_error(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """``handler500``: what escaped every view and middleware. A database outage is a 503 with
    Retry-After on every page (admin and staff pages included); under /api/ the body is the API's
    error shape, elsewhere Django's plain 500 page for anything else."""
    exc = sys.exc_info()[1]
    api = request.path.startswith("/api/")
    if isinstance(exc, OperationalError | InterfaceError):
        if api:
            response: HttpResponse = JsonResponse(service_unavailable_body(), status=503)
        else:
            response = HttpResponse(
                "Service temporarily unavailable; retry in a few seconds.\n", status=503, content_type="text/plain"
            )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if api:
        return JsonResponse(
            error_body("internal_error", "An internal error occurred; quote the X-Request-ID when reporting it."),
            status=500,
        )
    return defaults.server_error(request)
