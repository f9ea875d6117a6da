#!/usr/bin/env bash
# Start local PostgreSQL and Redis on loopback when none answer, installing Debian's packages
# first if they are missing. Idempotent: safe to run before every `make test`.
# Why a script and not docker-compose: CI machines have no Docker engine.
set -euo pipefail

PG_USER="${VCP_PG_USER:-vcp}"
PG_PASSWORD="${VCP_PG_PASSWORD:-vcp}"
PG_DB="${VCP_PG_DB:-vcp}"
PG_PORT="${VCP_PG_PORT:-5432}"
REDIS_PORT="${VCP_REDIS_PORT:-6379}"

log() { printf '[services] %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

pg_answers() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT" 2>/dev/null; }
redis_answers() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

ensure_postgres() {
  if ! pg_answers; then
    if ! command -v pg_lsclusters >/dev/null 2>&1; then
      log "installing Debian's postgresql"
      apt_install postgresql
    fi
    local cluster
    cluster=$(pg_lsclusters --no-header 2>/dev/null | awk -v p="$PG_PORT" '$3 == p {print $1" "$2; exit}')
    if [ -z "$cluster" ]; then
      local ver
      ver=$(ls /usr/lib/postgresql | sort -V | tail -1)
      log "creating cluster $ver/main on port $PG_PORT"
      as_root pg_createcluster "$ver" main --port "$PG_PORT" >/dev/null
      cluster="$ver main"
    fi
    log "starting PostgreSQL cluster $cluster"
    # shellcheck disable=SC2086
    as_root pg_ctlcluster $cluster start || true
    for _ in $(seq 1 30); do pg_answers && break; sleep 1; done
    pg_answers || { log "PostgreSQL did not start; see /var/log/postgresql/"; exit 1; }
  fi
  # Role and database for the app; CREATEDB so pytest-django can create its test database.
  as_root su postgres -c "psql -p $PG_PORT -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='$PG_USER'\"" | grep -q 1 \
    || as_root su postgres -c "psql -p $PG_PORT -qc \"CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD'\""
  as_root su postgres -c "psql -p $PG_PORT -qtAc \"SELECT 1 FROM pg_database WHERE datname='$PG_DB'\"" | grep -q 1 \
    || as_root su postgres -c "createdb -p $PG_PORT -O $PG_USER $PG_DB"
  log "PostgreSQL ready: postgres://$PG_USER:***@127.0.0.1:$PG_PORT/$PG_DB"
}

ensure_redis() {
  if ! redis_answers; then
    if ! command -v redis-server >/dev/null 2>&1; then
      log "installing Debian's redis-server"
      apt_install redis-server
    fi
    log "starting redis-server on 127.0.0.1:$REDIS_PORT"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --save "" --appendonly no >/dev/null
    for _ in $(seq 1 20); do redis_answers && break; sleep 0.5; done
    redis_answers || { log "Redis did not start"; exit 1; }
  fi
  log "Redis ready: redis://127.0.0.1:$REDIS_PORT/0"
}

ensure_postgres
ensure_redis
