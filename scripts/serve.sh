#!/usr/bin/env bash
# `make serve`: the production topology on this machine, without Docker, all on loopback:
#   PostgreSQL + Redis (scripts/services.sh), 2 gunicorn instances (2 sync workers each) behind
#   Debian's nginx, a third one for /batch_predict alone (1 worker at a lower CPU priority, so a
#   1,000-item batch never holds a /predict worker nor its share of the cores: docs/performance.md),
#   a Celery worker and Celery beat. Pid files and logs in var/serve/.
# `make serve-stop` (scripts/serve-stop.sh) stops exactly the processes named by those pid files.
#
# Without Redis (SERVE_REDIS=0): REDIS_URL is unset, the cache is per process, Celery runs tasks
# inline (no worker, no beat), and each process learns of a promotion from the database's
# production pointer within VCP_REGISTRY_DB_RECHECK_SECONDS (docs/deployment.md, "make serve").
# An empty database gets a small synthetic market and a trained, promoted model first (SERVE_DEMO=0
# skips that).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY="$ROOT/.venv/bin/python"
STATE="${SERVE_DIR:-$ROOT/var/serve}"
HTTP_PORT="${SERVE_HTTP_PORT:-8080}"
WEB_PORTS=("${SERVE_WEB_PORT_1:-8101}" "${SERVE_WEB_PORT_2:-8102}")
BATCH_PORT="${SERVE_BATCH_PORT:-8103}"
BATCH_WORKERS="${SERVE_BATCH_WORKERS:-1}"
BATCH_NICE="${SERVE_BATCH_NICE:-10}"
SERVE_REDIS="${SERVE_REDIS:-1}"
SERVE_DEMO="${SERVE_DEMO:-1}"

log() { printf '[serve] %s\n' "$*" >&2; }
running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

mkdir -p "$STATE/data" "$STATE/nginx-tmp"
if [ -n "$(ls "$STATE"/*.pid 2>/dev/null)" ]; then
  for pidfile in "$STATE"/*.pid; do
    if running "$pidfile"; then log "already running ($pidfile): make serve-stop first"; exit 1; fi
    rm -f "$pidfile"
  done
fi

scripts/services.sh
[ -f "$STATE/secret_key" ] || "$PY" -c 'import secrets; print(secrets.token_urlsafe(50))' >"$STATE/secret_key"
chmod 600 "$STATE/secret_key"

export DJANGO_SETTINGS_MODULE=vcp_platform.settings
export DEBUG=0
SECRET_KEY=$(cat "$STATE/secret_key")
export SECRET_KEY
export DATABASE_URL="${SERVE_DATABASE_URL:-postgres://vcp:vcp@127.0.0.1:5432/vcp}"
export ALLOWED_HOSTS="127.0.0.1,localhost"
export VCP_DATA_DIR="$STATE/data"
export VCP_LOG_DIR="$STATE/logs"
export VCP_BEHIND_PROXY=1
# Plain HTTP on loopback: cookies marked Secure would never come back, so the admin login would fail.
export SESSION_COOKIE_SECURE=0 CSRF_COOKIE_SECURE=0
export CSRF_TRUSTED_ORIGINS="http://127.0.0.1:$HTTP_PORT,http://localhost:$HTTP_PORT"
export PYTHONPATH="$ROOT"
if [ "$SERVE_REDIS" = 1 ]; then
  export REDIS_URL="${SERVE_REDIS_URL:-redis://127.0.0.1:6379/3}"
  export CELERY_BROKER_URL="${SERVE_BROKER_URL:-redis://127.0.0.1:6379/4}"
  export CELERY_RESULT_BACKEND="$CELERY_BROKER_URL"
else
  unset REDIS_URL CELERY_BROKER_URL CELERY_RESULT_BACKEND
  export CELERY_TASK_ALWAYS_EAGER=1
fi
# The environment every process of this topology gets (bench/promotion_propagation.py reads it too).
export SERVE_HTTP_PORT="$HTTP_PORT" SERVE_WEB_PORT_1="${WEB_PORTS[0]}" SERVE_WEB_PORT_2="${WEB_PORTS[1]}"
export SERVE_BATCH_PORT="$BATCH_PORT"
env | grep -E '^(DJANGO_SETTINGS_MODULE|DEBUG|SECRET_KEY|DATABASE_URL|ALLOWED_HOSTS|VCP_[A-Z_0-9]+|SESSION_COOKIE_SECURE|CSRF_[A-Z_]+|REDIS_URL|CELERY_[A-Z_]+|PYTHONPATH|SERVE_[A-Z_0-9]+)=' \
  | sed 's/^/export /; s/=\(.*\)$/="\1"/' >"$STATE/env.sh"
chmod 600 "$STATE/env.sh"

# The database of DATABASE_URL, created when missing (scripts/services.sh creates the default `vcp`).
"$PY" - <<'CREATE'
import os
from urllib.parse import urlparse

import psycopg2

url = urlparse(os.environ["DATABASE_URL"])
name = url.path.lstrip("/")
admin = psycopg2.connect(
    host=url.hostname, port=url.port or 5432, user=url.username, password=url.password, dbname="postgres"
)
admin.autocommit = True
with admin.cursor() as cursor:
    cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
    if cursor.fetchone() is None:
        cursor.execute(f'CREATE DATABASE "{name}"')
admin.close()
CREATE

log "migrating and collecting static files"
"$PY" manage.py migrate --noinput >/dev/null
"$PY" manage.py collectstatic --noinput >/dev/null
"$PY" manage.py sync_beat_schedule >/dev/null

if [ "$SERVE_DEMO" = 1 ] && [ "$("$PY" manage.py list_models | grep -c production || true)" = 0 ]; then
  log "no production model: building a small synthetic market and training two models (a few minutes)"
  if [ "$("$PY" manage.py list_models | grep -c candidate || true)" = 0 ]; then
    "$PY" manage.py generate_market --stocks "${SERVE_STOCKS:-120}" --days "${SERVE_DAYS:-500}" --seed 7 >/dev/null
    "$PY" manage.py train_model --algorithm xgboost --no-progress --rounds 60 --actor serve >/dev/null
    "$PY" manage.py train_model --algorithm lightgbm --no-progress --rounds 60 --actor serve >/dev/null
  fi
  "$PY" manage.py promote_model --best --reason "make serve: best test PR-AUC" --actor serve >/dev/null
  "$PY" manage.py score_universe >/dev/null
fi

# nginx logs every request (var/serve/nginx-access.log); gunicorn's own access line cost ~15% of a /predict
# worker's Python time (docs/performance.md). SERVE_GUNICORN_ACCESSLOG=1 writes it too.
WEB_ACCESSLOG=off
for i in 0 1; do
  n=$((i + 1))
  [ "${SERVE_GUNICORN_ACCESSLOG:-0}" = 1 ] && WEB_ACCESSLOG="$STATE/gunicorn-$n.access.log"
  log "gunicorn $n on 127.0.0.1:${WEB_PORTS[$i]} and $STATE/web-$n.sock (2 workers)"
  # nginx reaches it over a unix socket (cheaper per request than loopback TCP); the port is for direct calls.
  GUNICORN_BIND="127.0.0.1:${WEB_PORTS[$i]},unix:$STATE/web-$n.sock" GUNICORN_WORKERS=2 GUNICORN_ACCESSLOG="$WEB_ACCESSLOG" \
    VCP_WEB_METRICS_PORT=$((9111 + 10 * i)) \
    "$ROOT/.venv/bin/gunicorn" -c deploy/gunicorn.conf.py --daemon --pid "$STATE/gunicorn-$n.pid" \
    --error-logfile "$STATE/gunicorn-$n.log" vcp_platform.wsgi:application
done
log "gunicorn batch on 127.0.0.1:$BATCH_PORT ($BATCH_WORKERS worker, nice $BATCH_NICE): /batch_predict only"
# A 1,000-item batch computed from the bars reads ~311,000 rows: the batch pool's database limits are
# 10 s (statement) and 12 s (deadline) instead of the /predict pools' 2 s and 2.5 s.
GUNICORN_BIND="127.0.0.1:$BATCH_PORT" GUNICORN_WORKERS="$BATCH_WORKERS" GUNICORN_ACCESSLOG="$STATE/gunicorn-batch.access.log" \
  VCP_WEB_METRICS_PORT=9131 DB_STATEMENT_TIMEOUT_MS="${SERVE_BATCH_STATEMENT_TIMEOUT_MS:-10000}" \
  VCP_DB_QUERY_DEADLINE_SECONDS="${SERVE_BATCH_QUERY_DEADLINE_SECONDS:-12}" \
  nice -n "$BATCH_NICE" "$ROOT/.venv/bin/gunicorn" -c deploy/gunicorn.conf.py --daemon --pid "$STATE/gunicorn-batch.pid" \
  --error-logfile "$STATE/gunicorn-batch.log" vcp_platform.wsgi:application

if [ "$SERVE_REDIS" = 1 ]; then
  log "Celery worker and beat"
  "$ROOT/.venv/bin/celery" -A vcp_platform worker --detach --concurrency 2 -Q vcp --loglevel INFO \
    --pidfile "$STATE/worker.pid" --logfile "$STATE/worker.log" -n "serve-$$@%h"
  "$ROOT/.venv/bin/celery" -A vcp_platform beat --detach --loglevel INFO \
    --pidfile "$STATE/beat.pid" --logfile "$STATE/beat.log" --schedule "$STATE/celerybeat-schedule"
else
  log "no Redis: no Celery worker or beat (tasks run inline)"
fi

sh deploy/tls/ensure_nginx.sh
cat >"$STATE/proxy_headers.conf" <<'HEADERS'
proxy_http_version 1.1;
proxy_set_header Connection "";
proxy_set_header Host $http_host;
proxy_set_header X-Forwarded-Host $http_host;
proxy_set_header X-Forwarded-Proto $scheme;
proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
proxy_set_header X-Request-ID $request_id;
proxy_read_timeout 60s;
HEADERS
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
sed -e "s|@STATE@|$STATE|g" -e "s|@HTTP_PORT@|$HTTP_PORT|g" -e "s|@WEB1@|${WEB_PORTS[0]}|g" \
  -e "s|@WEB2@|${WEB_PORTS[1]}|g" -e "s|@WEBBATCH@|$BATCH_PORT|g" -e "s|@STATIC@|$VCP_DATA_DIR/static|g" \
  -e "s|@USER@|$(id -un)|g" \
  deploy/nginx/serve.conf >"$STATE/nginx.conf"
"$NGINX" -t -q -p "$STATE/nginx-tmp" -c "$STATE/nginx.conf"
"$NGINX" -p "$STATE/nginx-tmp" -c "$STATE/nginx.conf"

for _ in $(seq 1 120); do
  curl -fs -o /dev/null "http://127.0.0.1:$HTTP_PORT/api/v1/health/ready" && break
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$HTTP_PORT/api/v1/health/ready" >/dev/null || { log "not ready: see $STATE/*.log"; exit 1; }
log "ready: http://127.0.0.1:$HTTP_PORT/  (admin user: manage.py demo_user; stop: make serve-stop)"
