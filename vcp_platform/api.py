"""The one router for /api/v1/. Each app registers its viewsets and plain views here."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver
from rest_framework.routers import DefaultRouter

router = DefaultRouter(trailing_slash=False)

# Plain (non-viewset) API views, added by apps in predictions/api/urls.py.
extra_urlpatterns: list[URLPattern | URLResolver] = []


def api_urlpatterns() -> list[URLPattern | URLResolver]:
    from predictions.api import urls as prediction_urls

    prediction_urls.register(router)
    return [*prediction_urls.urlpatterns, *router.urls]
