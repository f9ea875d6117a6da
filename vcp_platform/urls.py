from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from backtesting import urls as backtesting_urls
from common.api.errors import api_not_found
from monitoring import urls as monitoring_urls
from vcp_platform.api import api_urlpatterns

# The staff pages (server-rendered, staff login): each app contributes its patterns to one namespace.
staff_urlpatterns: list[URLPattern | URLResolver] = [*monitoring_urls.urlpatterns, *backtesting_urls.urlpatterns]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("staff/", include((staff_urlpatterns, "staff"), namespace="staff")),
    path("api/v1/", include((api_urlpatterns(), "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its initialiser as a script file, so the page needs no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    # Any other URL under /api/ answers 404 in the API's JSON error shape (the docs pages keep their redirects).
    re_path(r"^api/(?!(?:schema|docs|redoc)/?$)", api_not_found, name="api-not-found"),
    path("", include("django_prometheus.urls")),
]

# A database outage escaping any view or middleware is a 503 with Retry-After, not a 500 page.
handler500 = "common.api.errors.server_error"

admin.site.site_header = "VCP Platform"
admin.site.site_title = "VCP Platform admin"
admin.site.index_title = "Market data, models, predictions and monitoring"
admin.site.site_url = "/staff/"  # "View site" opens the staff dashboard (the site has no public front page)
