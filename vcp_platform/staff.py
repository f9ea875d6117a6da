"""The staff pages' URL namespace ("staff"): each app contributes its patterns here.

Pages are server-rendered, need a staff login, and read through the apps' selectors.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

from backtesting import urls as backtesting_urls
from monitoring import urls as monitoring_urls

app_name = "staff"

urlpatterns: list[URLPattern | URLResolver] = [*monitoring_urls.urlpatterns, *backtesting_urls.urlpatterns]
