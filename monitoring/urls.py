"""Staff pages of monitoring (mounted under /staff/ in the "staff" namespace)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from monitoring import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.dashboard, name="dashboard"),
    path("checks/<slug:check>/run", views.run_check, name="run_check"),
    path("assets/plotly.min.js", views.plotly_js, name="plotly_js"),
]
