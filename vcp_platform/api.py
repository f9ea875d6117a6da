"""The one router for /api/v1/: each app's API module registers its viewsets and adds its plain views."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver
from rest_framework.routers import DefaultRouter


def api_urlpatterns() -> list[URLPattern | URLResolver]:
    from modelregistry.api import urls as registry_urls
    from predictions.api import urls as prediction_urls

    router = DefaultRouter(trailing_slash=False)
    registry_urls.register(router)
    return [*prediction_urls.urlpatterns, *router.urls]
