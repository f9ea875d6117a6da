"""/predict's hot path: the everyday request answered without DRF's per-request machinery.

A profile of a gunicorn worker under the closed-loop load test (issue 14) put DRF's own work around
a cached /predict at ~10% of the worker's Python time: a ``Request`` wrapper, content negotiation,
authenticator, permission and throttle objects built per call, a ``Response`` rendered through
``SimpleTemplateResponse``. Almost every call is the same request: POST, a JSON body such as
``{"symbol": "RELIANCE"}``, ``Authorization: Token ...``, no ``Accept`` preference.

``predict_hot`` answers exactly that request with the SAME components the DRF view uses -- the
view's token authenticator (and its process cache), its throttle, ``predict_request_fast``,
``serving.prediction_serve`` (cache, audit), the endpoint metrics and ``JSONRenderer`` -- and
returns None for anything else (another method, media type or ``Accept``, a query string, a
session or missing token, a body the fast checks do not accept), so the DRF view answers it with
its usual status and error shape. Errors raised while serving go through the view's own
``handle_exception``, so they too keep their shape. tests/predictions/api/test_hotpath.py holds
both paths to byte-identical answers.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from common.api.authentication import CachedTokenAuthentication
from common.api.throttling import TokenRateThrottle
from predictions import serving
from predictions.api.fastpath import predict_request_fast

if TYPE_CHECKING:
    from rest_framework.views import APIView

# Bodies the fast checks accept are ~20-80 bytes; anything longer (a what-if vector) takes the full
# path, which also keeps json.loads far from any recursion limit without a depth check.
MAX_HOT_BODY_BYTES = 512
_ACCEPTS = frozenset({None, "", "*/*", "application/json"})
_CONTENT_TYPES = frozenset({"application/json", "application/json; charset=utf-8", "application/json;charset=utf-8"})
THROTTLED_WAIT_ATTR = "_vcp_throttled_wait"  # set on the HttpRequest when the hot path's throttle refused it

_renderer = JSONRenderer()


def hot_path_applies(view: APIView) -> bool:
    """The hot path replays the view's policies by hand, so it only runs while they are the ones it
    knows: token auth first, IsAuthenticated, TokenRateThrottle, a JSON renderer first."""
    if not settings.VCP_API_HOT_PATH:
        return False
    known = _applies.get(type(view))
    if known is None:
        known = _applies[type(view)] = _policies_known(view)
    return known


_applies: dict[type, bool] = {}


def _policies_known(view: APIView) -> bool:
    return (
        bool(view.authentication_classes)
        and issubclass(view.authentication_classes[0], CachedTokenAuthentication)
        and list(view.permission_classes) == [IsAuthenticated]
        and list(view.throttle_classes) == [TokenRateThrottle]
        and bool(view.renderer_classes)
        and issubclass(view.renderer_classes[0], JSONRenderer)
    )


def _token_key(request: HttpRequest) -> str | None:
    parts = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(parts) != 2 or parts[0].lower() != "token":
        return None
    return parts[1]


def _body(request: HttpRequest) -> Any:
    meta = request.META
    if (meta.get("CONTENT_TYPE") or "").lower() not in _CONTENT_TYPES or meta.get("HTTP_ACCEPT") not in _ACCEPTS:
        return None
    length = meta.get("CONTENT_LENGTH") or ""
    # A declared, small length only: a chunked or large body is the full path's to read and refuse.
    if not (length.isascii() and length.isdigit() and 0 < int(length) <= MAX_HOT_BODY_BYTES):
        return None
    try:
        # Decoded as UTF-8 as DRF's parser does (json.loads on bytes would also guess UTF-16/32).
        # NaN/Infinity tokens parse here, but predict_request_fast accepts no float anywhere.
        return json.loads(request.body.decode("utf-8"))
    except ValueError:  # the full path words the parse error (UnicodeDecodeError is a ValueError)
        return None


def predict_hot(view: APIView, request: HttpRequest, actor_for: Any, observe: Any) -> HttpResponse | None:
    """The answer to an everyday /predict call, or None when the DRF view should answer it."""
    if request.method != "POST" or request.META.get("QUERY_STRING"):
        return None
    key = _token_key(request)
    if key is None:
        return None
    data = _body(request)
    fast = predict_request_fast(data) if data is not None else None
    if fast is None:
        return None
    authenticator = cast(CachedTokenAuthentication, view.authentication_classes[0]())  # checked by hot_path_applies
    try:
        user, token = authenticator.authenticate_credentials(key)
    except AuthenticationFailed:
        return None  # the full path answers the 401 with its WWW-Authenticate header
    request.user = user  # type: ignore[assignment]  # as DRF's Request does, for the middleware after the view
    throttle = TokenRateThrottle()
    principal = _Principal(user=user, auth=token)
    if not throttle.allow_request(cast(Request, principal), view):  # it reads .user and .auth only
        setattr(request, THROTTLED_WAIT_ATTR, throttle.wait())  # the view answers 429 without counting again
        return None
    item, explain = fast
    started = time.perf_counter()
    served = None
    try:
        served = serving.prediction_serve(
            symbol=item.symbol,
            exchange=item.exchange,
            date=item.date,
            explain=explain,
            actor=actor_for(token, user),
        )
    except Exception as exc:  # the view's own error handling: same status, shape and headers
        return _handled(view, request, exc, user=user, token=token)
    finally:
        observe("predict", time.perf_counter() - started, served)
    response = HttpResponse(_renderer.render(serving.served_as_dict(served)), content_type="application/json")
    return _finalized(view, response)


class _Principal:
    """What TokenRateThrottle reads of a request: who is asking."""

    __slots__ = ("auth", "user")

    def __init__(self, *, user: Any, auth: Any) -> None:
        self.user = user
        self.auth = auth


def _finalized(view: APIView, response: HttpResponse) -> HttpResponse:
    """DRF's ``finalize_response`` headers (``Allow``, and ``Vary: Accept`` with several renderers)."""
    headers = dict(view.default_response_headers)
    vary = headers.pop("Vary", None)
    if vary is not None:
        patch_vary_headers(response, [v.strip() for v in vary.split(",")])
    for name, value in headers.items():
        response[name] = value
    return response


def _handled(view: APIView, request: HttpRequest, exc: Exception, *, user: Any, token: Any) -> HttpResponse:
    drf_request = view.initialize_request(request)
    drf_request.user, drf_request.auth = user, token  # already authenticated: no second lookup
    view.request, view.args, view.kwargs, view.format_kwarg = drf_request, (), {}, None
    view.headers = view.default_response_headers
    drf_request.accepted_renderer, drf_request.accepted_media_type = view.perform_content_negotiation(drf_request)
    response = view.handle_exception(exc)
    view.response = view.finalize_response(drf_request, response)
    return view.response
