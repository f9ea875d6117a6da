#!/usr/bin/env bash
# `make serve-stop`: stop what scripts/serve.sh started, each process by the pid in its pid file
# (nginx, the two gunicorn masters, Celery worker and beat), and wait for each to exit.
# PostgreSQL and Redis are left running (scripts/services.sh owns them; tests use them too).
set -uo pipefail
cd "$(dirname "$0")/.."
STATE="${SERVE_DIR:-$(pwd)/var/serve}"
log() { printf '[serve-stop] %s\n' "$*" >&2; }

stop() {  # pid file, signal
  local file=$1 sig=$2 pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill "-$sig" "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then log "$file: pid $pid still running after 30 s: SIGKILL"; kill -KILL "$pid"; fi
    log "stopped $(basename "$file" .pid) (pid $pid)"
  fi
  rm -f "$file"
}

stop "$STATE/nginx.pid" QUIT      # graceful: finish the requests in flight
stop "$STATE/gunicorn-1.pid" TERM # graceful: workers finish their request (graceful_timeout 30 s)
stop "$STATE/gunicorn-2.pid" TERM
stop "$STATE/gunicorn-batch.pid" TERM
stop "$STATE/beat.pid" TERM
stop "$STATE/worker.pid" TERM     # warm shutdown: running tasks finish
exit 0
