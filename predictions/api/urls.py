"""URL patterns of the prediction API, mounted under /api/v1/ by vcp_platform.api."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver
from rest_framework.routers import DefaultRouter

urlpatterns: list[URLPattern | URLResolver] = []


def register(router: DefaultRouter) -> None:
    """Register viewsets on the central router (filled in by the API issue)."""
