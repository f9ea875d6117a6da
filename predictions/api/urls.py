"""URL patterns of the prediction API, mounted under /api/v1/ by vcp_platform.api."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from predictions.api import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("predict", views.PredictView.as_view(), name="predict"),
    path("batch_predict", views.BatchPredictView.as_view(), name="batch-predict"),
    path("predictions", views.PredictionListView.as_view(), name="predictions"),
    path("health", views.HealthView.as_view(), name="health"),
    path("health/ready", views.ReadyView.as_view(), name="health-ready"),
]
