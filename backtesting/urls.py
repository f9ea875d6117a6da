"""Staff pages of backtesting (mounted under /staff/ in the "staff" namespace)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from backtesting import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("backtests/", views.backtest_list, name="backtests"),
    path("backtests/run", views.backtest_start, name="backtest-start"),
    path("backtests/comparisons/run", views.comparison_start, name="comparison-start"),
    path("backtests/<int:pk>/", views.backtest_detail, name="backtest"),
    path("backtests/<int:pk>/report/", views.backtest_report, name="backtest-report"),
    path("backtests/<int:pk>/report.json", views.backtest_report_json, name="backtest-report-json"),
    path("backtests/walk-forwards/<int:pk>/", views.walk_forward_detail, name="walk-forward"),
    path("backtests/comparisons/<int:pk>/", views.comparison_detail, name="comparison"),
]
