"""One settings module for every environment, driven by environment variables.

The embedded default (no variables set, DEBUG on) is SQLite under ``var/``, a local-memory cache and
Celery in eager mode: that is what ``make demo`` runs. Tests, CI and production set ``DATABASE_URL``
and ``REDIS_URL`` to PostgreSQL and Redis. See docs/configuration.md for every variable.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import django_stubs_ext
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
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
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served from this host: no CDN (air-gapped)
    "django_celery_beat",
    "axes",  # admin login throttling (docs/configuration.md, "Security")
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
    "common.middleware.RequestSizeLimitMiddleware",  # 413 before a too-large body is read
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Pages only: the JSON API (/api/v1/) needs no flash messages and no CSP (common.middleware).
    "common.middleware.PagesMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "common.middleware.PagesCSPMiddleware",
    "axes.middleware.AxesMiddleware",  # after AuthenticationMiddleware: answers locked-out logins
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
                "csp.context_processors.nonce",
            ],
        },
    },
]

_default_db = f"sqlite:///{VCP_DATA_DIR / 'db.sqlite3'}"
DATABASES = {"default": env_db_url("DATABASE_URL", _default_db)}
DATABASES["default"].setdefault("CONN_MAX_AGE", env_int("DB_CONN_MAX_AGE", 60, minimum=0))
# A persistent connection is checked (one SELECT 1, only in a request that queries) before reuse, so
# the first request after a PostgreSQL restart does not fail on a dead socket.
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", env_bool("DB_CONN_HEALTH_CHECKS", True))
# Timeouts (docs/reliability.md): a PostgreSQL that is down or hung answers 503 within 5 s instead of
# holding a worker until gunicorn kills it. connect_timeout covers the whole connection start-up;
# statement_timeout and lock_timeout are enforced by the server; VCP_DB_QUERY_DEADLINE_SECONDS is
# enforced here (common/db.py), for a server or network that stops answering altogether. Defaults:
# none for statements (training and batch reads run for minutes); deploy/gunicorn.conf.py sets the
# web values (connect 2 s, statement 2,000 ms, lock 1,000 ms, deadline 2.5 s).
DB_CONNECT_TIMEOUT = env_int("DB_CONNECT_TIMEOUT", 3, minimum=1)
DB_STATEMENT_TIMEOUT_MS = env_int("DB_STATEMENT_TIMEOUT_MS", 0, minimum=0)
DB_LOCK_TIMEOUT_MS = env_int("DB_LOCK_TIMEOUT_MS", 0, minimum=0)
VCP_DB_QUERY_DEADLINE_SECONDS = env_float("VCP_DB_QUERY_DEADLINE_SECONDS", 0.0)
# libpq's default sslmode "prefer" tries TLS and then, after a timeout, plain TCP: twice
# connect_timeout against a hung server. Loopback defaults to "disable"; a remote server should say
# "require" (or verify-full), in DB_SSLMODE or ?sslmode= in DATABASE_URL.
DB_SSLMODE = env_optional_str("DB_SSLMODE")
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    _pg_options = DATABASES["default"].setdefault("OPTIONS", {})
    _pg_options.setdefault("connect_timeout", DB_CONNECT_TIMEOUT)
    if DB_SSLMODE:
        _pg_options["sslmode"] = DB_SSLMODE
    elif DATABASES["default"].get("HOST", "") in {"", "127.0.0.1", "localhost", "::1"}:
        _pg_options.setdefault("sslmode", "disable")
    _server_limits = [
        f"-c {name}={value}"
        for name, value in (("statement_timeout", DB_STATEMENT_TIMEOUT_MS), ("lock_timeout", DB_LOCK_TIMEOUT_MS))
        if value
    ]
    if _server_limits:
        _pg_options["options"] = " ".join([_pg_options.get("options", ""), *_server_limits]).strip()
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the demo server read while a command writes; with WAL, synchronous=NORMAL fsyncs at
    # checkpoints instead of every commit (a power cut can lose the last commits, never corrupt).
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 30)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_redis_url("REDIS_URL")
# Redis is optional on the hot path (common/sharedcache.py): a call that has not answered within this
# many seconds is a miss, and the process skips Redis for VCP_SHARED_CACHE_COOLDOWN_SECONDS after an
# error, so a hung Redis costs one short wait per process every few seconds, not 10 s per request.
VCP_REDIS_TIMEOUT_SECONDS = env_float("VCP_REDIS_TIMEOUT_SECONDS", 0.5)
VCP_SHARED_CACHE_COOLDOWN_SECONDS = env_float("VCP_SHARED_CACHE_COOLDOWN_SECONDS", 5.0)
# The model loader's fallback while the shared cache cannot tell it of promotions (Redis down, or
# REDIS_URL unset): re-read the database's production pointer at most this often.
VCP_REGISTRY_DB_RECHECK_SECONDS = env_float("VCP_REGISTRY_DB_RECHECK_SECONDS", 2.0)
# Each process re-hashes the production model's artifacts this often (and on every reload).
VCP_ARTIFACT_VERIFY_SECONDS = env_float("VCP_ARTIFACT_VERIFY_SECONDS", 30.0)

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "common.rediscache.ReusedClientRedisCache",  # one redis-py client per pool
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "vcp"),
            "TIMEOUT": 300,
            "OPTIONS": {
                "socket_connect_timeout": VCP_REDIS_TIMEOUT_SECONDS,
                "socket_timeout": VCP_REDIS_TIMEOUT_SECONDS,
            },
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
# Acknowledged when they start, unless a task says acks_late: a message left unacknowledged by a
# killed worker comes back only after the visibility timeout below, and a task still running past it
# would run twice. So only short, idempotent tasks (batch chunks and their finalize, the daily
# ingest, scoring start and checks) are acks_late, each with a hard limit of at most
# VCP_ACKS_LATE_TIME_LIMIT; the rest (backtests, walk-forwards, the fetch with its own retries) leave
# a RUNNING record that the reaper (common.tasks.reap_stalled_runs) fails when it stalls.
CELERY_TASK_ACKS_LATE = False
# The longest hard time limit of an acks_late task, in seconds (tests/vcp_platform checks every one).
VCP_ACKS_LATE_TIME_LIMIT = env_int("VCP_ACKS_LATE_TIME_LIMIT", 10 * 60, minimum=30)
# Redis redelivers an unacknowledged message after this many seconds: longer than any acks_late task
# may run (else a running task is delivered twice), short enough that a lost worker's chunks come back
# within minutes (Redis' default is an hour). docs/configuration.md, "Celery".
VCP_BROKER_VISIBILITY_TIMEOUT = env_int("VCP_BROKER_VISIBILITY_TIMEOUT", VCP_ACKS_LATE_TIME_LIMIT + 60, minimum=1)
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
    "visibility_timeout": VCP_BROKER_VISIBILITY_TIMEOUT,
    # Look for messages past their visibility timeout every 10 s (kombu's default: every 100 s).
    "unacked_restore_interval": min(10, VCP_BROKER_VISIBILITY_TIMEOUT),
    "unacked_restore_throttle": 1,
}
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
    # A size limit (413) and a nesting limit (400) on every JSON body: no input reaches a 500.
    "DEFAULT_PARSER_CLASSES": ["common.api.parsers.SafeJSONParser"],
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
    # The UIs' scripts come from drf-spectacular-sidecar's static files, pinned with the package.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Platform knobs -----------------------------------------------------------------------------
# /predict's everyday call answered without DRF's per-request machinery (predictions/api/hotpath.py);
# 0 sends every call through the DRF view (same answers, ~10% more CPU per call).
VCP_API_HOT_PATH = env_bool("VCP_API_HOT_PATH", True)
VCP_BATCH_PREDICT_LIMIT = env_int("VCP_BATCH_PREDICT_LIMIT", 1000, minimum=1)
# The most stored bars (instrument x session) one /predict or /batch_predict may read to compute features
# the nightly batch has not stored: 1,000 instruments on one date read ~311,000 (docs/performance.md).
VCP_BATCH_COMPUTE_MAX_BARS = env_int("VCP_BATCH_COMPUTE_MAX_BARS", 400_000, minimum=1)
VCP_SCORE_CHUNK_SIZE = env_int("VCP_SCORE_CHUNK_SIZE", 2000, minimum=1)
VCP_PROMOTION_MIN_PR_AUC = env_float("VCP_PROMOTION_MIN_PR_AUC", 0.0)
VCP_PROMOTION_MIN_F1 = env_float("VCP_PROMOTION_MIN_F1", 0.0)
# The monthly challenger (modelregistry.tasks.train_challenger_monthly, docs/models.md).
VCP_CHALLENGER_ALGORITHM = env_str("VCP_CHALLENGER_ALGORITHM", "lightgbm")
if VCP_CHALLENGER_ALGORITHM not in ("lightgbm", "xgboost"):
    raise ImproperlyConfigured(
        f"VCP_CHALLENGER_ALGORITHM={VCP_CHALLENGER_ALGORITHM!r} is not valid: expected lightgbm or xgboost."
    )
VCP_CHALLENGER_AUTO_PROMOTE = env_bool("VCP_CHALLENGER_AUTO_PROMOTE", True)
VCP_CHALLENGER_VALID_SESSIONS = env_int("VCP_CHALLENGER_VALID_SESSIONS", 250, minimum=20)
VCP_ALERT_EMAILS = env_list("VCP_ALERT_EMAILS", [])
VCP_ALERT_WEBHOOK_URL = env_optional_str("VCP_ALERT_WEBHOOK_URL")
VCP_LOG_JSON = env_bool("VCP_LOG_JSON", True)
VCP_LOG_TO_FILE = env_bool("VCP_LOG_TO_FILE", not DEBUG)

# --- Fetching the daily bhavcopies (docs/ingestion.md) ------------------------------------------
VCP_FETCH_EXCHANGES = env_list("VCP_FETCH_EXCHANGES", ["NSE", "BSE"])
if set(VCP_FETCH_EXCHANGES) - {"NSE", "BSE"}:
    raise ImproperlyConfigured(
        f"VCP_FETCH_EXCHANGES={','.join(VCP_FETCH_EXCHANGES)!r} is not valid: expected NSE, BSE or NSE,BSE."
    )
VCP_FETCH_URLS = {
    "NSE": env_str(
        "VCP_FETCH_URL_NSE",
        "https://nsearchives.nseindia.com/content/cm/BhavCopy_NSE_CM_0_0_0_{yyyymmdd}_F_0000.csv.zip",
    ),
    "BSE": env_str(
        "VCP_FETCH_URL_BSE",
        "https://www.bseindia.com/download/BhavCopy/Equity/BhavCopy_BSE_CM_0_0_0_{yyyymmdd}_F_0000.CSV",
    ),
}
# Beat fetches at 18:15 IST: retrying for 14 minutes puts the files in the inbox before the 18:30 ingest.
VCP_FETCH_DEADLINE_SECONDS = env_int("VCP_FETCH_DEADLINE_SECONDS", 14 * 60, minimum=0)
VCP_FETCH_BACKOFF_SECONDS = env_float("VCP_FETCH_BACKOFF_SECONDS", 15.0)
VCP_FETCH_BACKOFF_MAX_SECONDS = env_float("VCP_FETCH_BACKOFF_MAX_SECONDS", 120.0)
VCP_FETCH_TIMEOUT_SECONDS = env_float("VCP_FETCH_TIMEOUT_SECONDS", 30.0)
VCP_FETCH_MAX_BYTES = env_int("VCP_FETCH_MAX_BYTES", 64 * 1024 * 1024, minimum=1024)
VCP_FETCH_USER_AGENT = env_str(
    "VCP_FETCH_USER_AGENT",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
)
# A RUNNING run whose last progress is older than this is failed by the reaper, unless its model sets
# its own limit (RunRecord.stall_after): the longest task hard limit (35 min) plus room.
VCP_RUN_STALL_MINUTES = env_int("VCP_RUN_STALL_MINUTES", 45, minimum=1)

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
# "Retrain needed" needs the same feature at ALERT in K of the last N drift windows (windows spaced
# VCP_DRIFT_WINDOW_DAYS sessions apart, so they do not overlap): one window is a market month.
VCP_DRIFT_PERSIST_K = env_int("VCP_DRIFT_PERSIST_K", 2, minimum=1)
VCP_DRIFT_PERSIST_N = env_int("VCP_DRIFT_PERSIST_N", 3, minimum=1)
# Degradation: the lift over "hit today" (PR-AUC and precision@20 per day, platform truth) over the
# last WINDOW_DAYS labelled sessions; a check "dropped" when both lifts are below (1 - LIFT_DROP) of
# the version's test lift, and alerts when K of the last N evening checks dropped (docs/monitoring.md).
VCP_DEGRADATION_WINDOW_DAYS = env_int("VCP_DEGRADATION_WINDOW_DAYS", 10, minimum=1)
VCP_DEGRADATION_MIN_POSITIVES = env_int("VCP_DEGRADATION_MIN_POSITIVES", 100, minimum=0)
VCP_DEGRADATION_LIFT_DROP = env_float("VCP_DEGRADATION_LIFT_DROP", 0.5)
VCP_DEGRADATION_PERSIST_K = env_int("VCP_DEGRADATION_PERSIST_K", 3, minimum=1)
VCP_DEGRADATION_PERSIST_N = env_int("VCP_DEGRADATION_PERSIST_N", 5, minimum=1)
# Shadow predictions (production's rollback target, challengers) are kept this many sessions.
VCP_SHADOW_KEEP_SESSIONS = env_int("VCP_SHADOW_KEEP_SESSIONS", 120, minimum=1)
for _k, _n in (
    ("VCP_DRIFT_PERSIST_K", "VCP_DRIFT_PERSIST_N"),
    ("VCP_DEGRADATION_PERSIST_K", "VCP_DEGRADATION_PERSIST_N"),
):
    if globals()[_k] > globals()[_n]:
        raise ImproperlyConfigured(f"{_k} ({globals()[_k]}) must not exceed {_n} ({globals()[_n]}): k of the last n.")
if not 0.0 < VCP_DEGRADATION_LIFT_DROP <= 1.0:
    raise ImproperlyConfigured(f"VCP_DEGRADATION_LIFT_DROP must lie in (0, 1], got {VCP_DEGRADATION_LIFT_DROP}.")
VCP_LOG_RETENTION_DAYS = env_int("VCP_LOG_RETENTION_DAYS", 30, minimum=1)
# The address every metrics port listens on (common/metrics.py): loopback unless a container needs
# Prometheus to reach it from outside (docker-compose.yml and deploy/k8s set 0.0.0.0).
VCP_METRICS_ADDR = env_str("VCP_METRICS_ADDR", "127.0.0.1")
# Each Celery process serves its metrics on the first free port from here (0: off); see deploy/prometheus.
VCP_CELERY_METRICS_PORT = env_int("VCP_CELERY_METRICS_PORT", 9201, minimum=0)
# django-prometheus's default buckets start at 10 ms, too coarse for a 3.5 ms p50.
_LATENCY_BUCKETS_MS = (1, 2.5, 5, 7.5, 10, 15, 25, 50, 75, 100, 250, 500, 1000, 2500, 5000, 10000)
PROMETHEUS_LATENCY_BUCKETS = (*(ms / 1000 for ms in _LATENCY_BUCKETS_MS), float("inf"))

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "vcp-platform@localhost")
# SMTP, read by EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend (docs/configuration.md).
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_optional_str("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = env_optional_str("EMAIL_HOST_PASSWORD") or ""  # a secret: from the secret store
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured(
        "EMAIL_USE_TLS and EMAIL_USE_SSL are both on: use one (TLS = STARTTLS, usually port 587; "
        "SSL = implicit TLS, usually port 465)."
    )
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

# --- Auth, i18n, static -------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

# django-axes: after AXES_FAILURE_LIMIT wrong passwords for one username from one address, that pair
# is locked out for AXES_COOLOFF_MINUTES (HTTP 429), the right password included. Unlock early with
# `manage.py axes_reset_username <name>` (docs/configuration.md, "Security").
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = "Asia/Kolkata"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VCP_DATA_DIR / "static"

SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
VCP_BEHIND_PROXY = env_bool("VCP_BEHIND_PROXY", False)
if VCP_BEHIND_PROXY:
    # nginx (deploy/nginx/vcp.conf) terminates TLS and says so in X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
    # axes reads the client address nginx puts first in X-Forwarded-For, not nginx's own.
    AXES_IPWARE_PROXY_COUNT = 1
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
# HTTPS redirect and HSTS (docs/configuration.md, "Security"). Both default off: nginx and the
# Ingress redirect port 80 and send Strict-Transport-Security themselves, and a second HSTS header
# from Django would be a duplicate. Health probes reach gunicorn's plain port, so they are exempt.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^api/v1/health"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS: list[str] = []
if VCP_BEHIND_PROXY:
    # Behind the proxy the redirect (W008) and HSTS (W004) are the proxy's job (deploy/nginx/vcp-tls.conf):
    # `check --deploy` is clean in that configuration, and still warns without a proxy.
    if not SECURE_SSL_REDIRECT:
        SILENCED_SYSTEM_CHECKS.append("security.W008")
    if not SECURE_HSTS_SECONDS:
        SILENCED_SYSTEM_CHECKS.append("security.W004")
# DENY everywhere; the one page the staff pages frame (the backtest report) says SAMEORIGIN itself.
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts only from this host or inline with the request's
# nonce; no CDN, no plugins. Inline styles stay allowed (Plotly and ReDoc set style attributes).
CONTENT_SECURITY_POLICY: dict[str, Any] = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [SELF],
    }
}

# Request bodies: larger ones are answered 413 in the API's error shape (nginx allows 2 MB too).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("VCP_MAX_REQUEST_BYTES", 2 * 1024 * 1024, minimum=1024)

LOGGING = build_logging_config(
    log_dir=VCP_LOG_DIR,
    json_format=VCP_LOG_JSON,
    to_file=VCP_LOG_TO_FILE,
    level=env_str("LOG_LEVEL", "INFO"),
    retention_days=VCP_LOG_RETENTION_DAYS,
)
