from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from predictions.api.errors import api_not_found
from vcp_platform.api import api_urlpatterns

urlpatterns = [
    path("admin/", admin.site.urls),
    path("staff/", include("vcp_platform.staff", namespace="staff")),
    path("api/v1/", include((api_urlpatterns(), "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    # Any other URL under /api/ answers 404 in the API's JSON error shape (the docs pages keep their redirects).
    re_path(r"^api/(?!(?:schema|docs|redoc)/?$)", api_not_found, name="api-not-found"),
    path("", include("django_prometheus.urls")),
]

admin.site.site_header = "VCP Platform"
admin.site.site_title = "VCP Platform admin"
admin.site.index_title = "Market data, models, predictions and monitoring"
