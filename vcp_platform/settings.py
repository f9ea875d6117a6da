"""One settings module for every environment, driven by environment variables.

The embedded default (no variables set, DEBUG on) is SQLite under ``var/``, a local-memory cache and
Celery in eager mode: that is what ``make demo`` runs. Tests, CI and production set ``DATABASE_URL``
and ``REDIS_URL`` to PostgreSQL and Redis. See docs/configuration.md for every variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from common.logging import build_logging_config
from vcp_platform.env import (
    env_bool,
    env_db_url,
    env_float,
    env_int,
    env_list,
    env_optional_str,
    env_redis_url,
    env_str,
)

django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)

_secret = env_optional_str("SECRET_KEY")
if _secret is None:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off: set SECRET_KEY to a long random string "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), or set DEBUG=1 locally."
        )
    _secret = "django-insecure-local-development-only"
SECRET_KEY = _secret

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Where the platform keeps its files: SQLite db, model artifacts, exports, logs.
VCP_DATA_DIR = Path(env_str("VCP_DATA_DIR", str(BASE_DIR / "var"))).resolve()
VCP_ARTIFACT_ROOT = Path(env_str("VCP_ARTIFACT_ROOT", str(VCP_DATA_DIR / "artifacts"))).resolve()
VCP_EXPORT_DIR = Path(env_str("VCP_EXPORT_DIR", str(VCP_DATA_DIR / "exports"))).resolve()
VCP_LOG_DIR = Path(env_str("VCP_LOG_DIR", str(VCP_DATA_DIR / "logs"))).resolve()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_prometheus",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_celery_beat",
    "common",
    "marketdata",
    "modelregistry",
    "predictions",
    "monitoring",
    "backtesting",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "common.middleware.TraceIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "common.middleware.PrometheusAfterMiddleware",  # django-prometheus's, labelled children cached
]

ROOT_URLCONF = "vcp_platform.urls"
WSGI_APPLICATION = "vcp_platform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_default_db = f"sqlite:///{VCP_DATA_DIR / 'db.sqlite3'}"
DATABASES = {"default": env_db_url("DATABASE_URL", _default_db)}
DATABASES["default"].setdefault("CONN_MAX_AGE", env_int("DB_CONN_MAX_AGE", 60, minimum=0))
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the demo server read while a command writes.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = "PRAGMA journal_mode=WAL;"
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 30)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_redis_url("REDIS_URL")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "vcp"),
            "TIMEOUT": 300,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "vcp-default",
            "TIMEOUT": 300,
        }
    }

# --- Celery -------------------------------------------------------------------------------------
CELERY_BROKER_URL = env_redis_url("CELERY_BROKER_URL", REDIS_URL)
# Without a broker Celery runs tasks in-process (the embedded default); with one, real workers.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", CELERY_BROKER_URL is None)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env_redis_url("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Asia/Kolkata"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_DEFAULT_QUEUE = "vcp"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Django REST framework ----------------------------------------------------------------------
REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "common.api.authentication.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["common.api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": env_str("API_THROTTLE_RATE", "6000/min")},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "common.api.errors.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SPECTACULAR_SETTINGS = {
    "TITLE": "VCP Platform API",
    "DESCRIPTION": (
        "Next-day upper-circuit predictions for NSE/BSE stocks from Volatility Contraction "
        'Pattern features. Every error has the shape {"error": {"code", "message", "details"}}.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Platform knobs -----------------------------------------------------------------------------
VCP_BATCH_PREDICT_LIMIT = env_int("VCP_BATCH_PREDICT_LIMIT", 1000, minimum=1)
VCP_SCORE_CHUNK_SIZE = env_int("VCP_SCORE_CHUNK_SIZE", 2000, minimum=1)
VCP_PROMOTION_MIN_PR_AUC = env_float("VCP_PROMOTION_MIN_PR_AUC", 0.0)
VCP_PROMOTION_MIN_F1 = env_float("VCP_PROMOTION_MIN_F1", 0.0)
VCP_ALERT_EMAILS = env_list("VCP_ALERT_EMAILS", [])
VCP_ALERT_WEBHOOK_URL = env_optional_str("VCP_ALERT_WEBHOOK_URL")
VCP_LOG_JSON = env_bool("VCP_LOG_JSON", True)
VCP_LOG_TO_FILE = env_bool("VCP_LOG_TO_FILE", not DEBUG)

# --- Monitoring (docs/monitoring.md) ------------------------------------------------------------
VCP_ALERT_DEDUPE_HOURS = env_int("VCP_ALERT_DEDUPE_HOURS", 24, minimum=0)
VCP_SITE_URL = env_optional_str("VCP_SITE_URL")  # links in alert messages, e.g. https://vcp.example.com
# About a month of snapshot dates: one evening's PSI swings with the market day (docs/monitoring.md).
VCP_DRIFT_WINDOW_DAYS = env_int("VCP_DRIFT_WINDOW_DAYS", 20, minimum=1)
VCP_DRIFT_ALPHA = env_float("VCP_DRIFT_ALPHA", 0.05)
VCP_DRIFT_MIN_ROWS = env_int("VCP_DRIFT_MIN_ROWS", 200, minimum=1)
# Features whose drift sets the status and "retrain needed"; empty: the ones the production version
# was trained to rely on (90% of its gain, frozen at training). Every feature is still reported.
VCP_DRIFT_WATCHED_FEATURES = env_list("VCP_DRIFT_WATCHED_FEATURES", [])
VCP_DEGRADATION_WINDOW_DAYS = env_int("VCP_DEGRADATION_WINDOW_DAYS", 20, minimum=1)
VCP_DEGRADATION_MIN_POSITIVES = env_int("VCP_DEGRADATION_MIN_POSITIVES", 400, minimum=0)
VCP_LOG_RETENTION_DAYS = env_int("VCP_LOG_RETENTION_DAYS", 30, minimum=1)
# Each Celery process serves its metrics on the first free port from here (0: off); see deploy/prometheus.
VCP_CELERY_METRICS_PORT = env_int("VCP_CELERY_METRICS_PORT", 9201, minimum=0)
# django-prometheus's default buckets start at 10 ms, too coarse for a 3.5 ms p50.
_LATENCY_BUCKETS_MS = (1, 2.5, 5, 7.5, 10, 15, 25, 50, 75, 100, 250, 500, 1000, 2500, 5000, 10000)
PROMETHEUS_LATENCY_BUCKETS = (*(ms / 1000 for ms in _LATENCY_BUCKETS_MS), float("inf"))

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "vcp-platform@localhost")

# --- Auth, i18n, static -------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "Asia/Kolkata"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VCP_DATA_DIR / "static"

SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
if env_bool("VCP_BEHIND_PROXY", False):
    # nginx (deploy/nginx/vcp.conf) terminates TLS and says so in X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
X_FRAME_OPTIONS = "SAMEORIGIN"  # the staff report pages embed the backtest HTML in an iframe

LOGGING = build_logging_config(
    log_dir=VCP_LOG_DIR,
    json_format=VCP_LOG_JSON,
    to_file=VCP_LOG_TO_FILE,
    level=env_str("LOG_LEVEL", "INFO"),
    retention_days=VCP_LOG_RETENTION_DAYS,
)
