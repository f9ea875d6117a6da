"""Routes of the registry's read API, registered on the central router by vcp_platform.api."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter

from modelregistry.api import views


def register(router: DefaultRouter) -> None:
    router.register("models", views.ModelVersionViewSet, basename="model")
