#!/usr/bin/env bash
# End-to-end check of the docker-compose stack (`make deploy-smoke`):
#   compose up (db, redis, migrate, web x2 behind nginx, worker, beat, prometheus, alertmanager,
#   alert-sink) -> every service healthy -> generate_market, train_model, promote_model, demo_user
#   inside the containers -> a beat-triggered batch (a one-off django-celery-beat schedule) ->
#   /api/v1/predict through nginx -> Prometheus scrapes every web and worker process (DNS discovery)
#   and the app's own metrics -> the heartbeat alert reaches the webhook through Alertmanager ->
#   graceful stops, measured -> compose down.
# Figures go to var/compose-smoke/results.txt (docs/deployment.md quotes a run).
#
# Usage: scripts/compose_smoke.sh [--offline] [--build] [--keep]
#   --offline  use deploy/compose.offline.yml (images from scripts/offline_images.sh); the default
#              when vcp/postgres:15 exists locally
#   --build    run scripts/offline_images.sh first (with --offline)
#   --keep     leave the stack running (default: compose down -v at the end, also on failure)
set -euo pipefail
cd "$(dirname "$0")/.."

OFFLINE=auto
BUILD=0
KEEP=0
for arg in "$@"; do
  case "$arg" in
    --offline) OFFLINE=1 ;;
    --build) BUILD=1 ;;
    --keep) KEEP=1 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

OUT=var/compose-smoke
mkdir -p "$OUT"
RESULTS="$OUT/results.txt"
: >"$RESULTS"
export COMPOSE_PROJECT_NAME="${COMPOSE_PROJECT_NAME:-vcpsmoke}"
export VCP_HTTP_PORT="${VCP_HTTP_PORT:-18080}" VCP_PROMETHEUS_PORT="${VCP_PROMETHEUS_PORT:-19090}"
export VCP_ALERTMANAGER_PORT="${VCP_ALERTMANAGER_PORT:-19093}" VCP_GRAFANA_PORT="${VCP_GRAFANA_PORT:-13000}"
export VCP_ENV_FILE="$OUT/smoke.env"
export POSTGRES_PASSWORD="smoke-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export GRAFANA_ADMIN_PASSWORD="smoke-grafana"
cat >"$VCP_ENV_FILE" <<EOF
SECRET_KEY=smoke-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
ALLOWED_HOSTS=127.0.0.1,localhost
VCP_LOG_TO_FILE=0
EOF

log() { printf '[smoke %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
record() { printf '%s\n' "$*" | tee -a "$RESULTS" >&2; }
fail() { log "FAIL: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose); else COMPOSE=(docker-compose); fi
if [ "$OFFLINE" = auto ]; then
  if docker image inspect vcp/postgres:15 >/dev/null 2>&1; then OFFLINE=1; else OFFLINE=0; fi
fi
FILES=(-f docker-compose.yml)
[ "$OFFLINE" = 1 ] && FILES+=(-f deploy/compose.offline.yml)
dc() { "${COMPOSE[@]}" "${FILES[@]}" "$@"; }
[ "$BUILD" = 1 ] && scripts/offline_images.sh

cleanup() {
  local rc=$?
  dc logs --no-color >"$OUT/compose.log" 2>&1 || true
  if [ "$KEEP" = 0 ]; then dc down -v --remove-orphans >/dev/null 2>&1 || true; fi
  [ "$rc" = 0 ] && log "PASS (results: $RESULTS)" || log "logs: $OUT/compose.log"
}
trap cleanup EXIT

cid() { dc ps -q "$1" | head -1; }
health() { docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$1"; }
ip_of() { docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }
wait_for() {  # seconds description command...
  local limit=$1 what=$2 t0
  shift 2
  t0=$(now)
  until "$@" >/dev/null 2>&1; do
    awk -v a="$t0" -v b="$(now)" -v l="$limit" 'BEGIN { exit !(b - a > l) }' && fail "timed out after ${limit}s: $what"
    sleep 0.5
  done
}
manage() { dc exec -T worker python manage.py "$@"; }
django_shell() { dc exec -T worker python manage.py shell -c "$1"; }

record "# compose smoke $(date -u +%Y-%m-%dT%H:%M:%SZ) ($("${COMPOSE[@]}" version --short 2>/dev/null || echo compose), offline=$OFFLINE)"
for image in vcp-platform:latest vcp-platform:serve; do
  record "image $image: $(docker image inspect -f '{{.Size}}' "$image") bytes"
done

# --- up, and the readiness timeline -----------------------------------------------------------------
log "compose up"
dc down -v --remove-orphans >/dev/null 2>&1 || true
T_UP=$(now)
dc up -d >"$OUT/up.log" 2>&1 &
UP_PID=$!
has_container() { [ -n "$(cid "$1")" ]; }
is_healthy() { [ "$(health "$1")" = healthy ]; }
web_count_at_least() { [ "$(dc ps -q web | wc -l)" -ge "$1" ]; }
wait_for 120 "db container" has_container db
DB=$(cid db)
wait_for 120 "db healthy" is_healthy "$DB"
T_DB=$(now)
wait_for 240 "two web containers" web_count_at_least 2
declare -A WEB_READY
for c in $(dc ps -q web); do
  ip=$(ip_of "$c")
  started=$(docker inspect -f '{{.State.StartedAt}}' "$c")
  wait_for 120 "web $c answers /api/v1/health" curl -fsS -m 2 -H "Host: localhost" "http://$ip:8000/api/v1/health"
  t=$(now)
  WEB_READY[$c]=$t
  record "web ${c:0:12}: /api/v1/health answered $(since "$(date -d "$started" +%s.%N)" "$t") s after its container started, $(since "$T_DB" "$t") s after db was healthy"
done
wait "$UP_PID" || { cat "$OUT/up.log" >&2; fail "compose up"; }
record "compose up -d returned after $(since "$T_UP" "$(now)") s"

SERVICES=(db redis web nginx worker beat prometheus alertmanager alert-sink)
for s in "${SERVICES[@]}"; do
  for c in $(dc ps -q "$s"); do
    wait_for 180 "$s healthy" is_healthy "$c"
  done
done
MIGRATE=$(dc ps -a -q migrate | head -1)
record "migrate: exit code $(docker inspect -f '{{.State.ExitCode}}' "$MIGRATE")"
for s in "${SERVICES[@]}"; do
  for c in $(dc ps -q "$s"); do record "health $s ${c:0:12}: $(health "$c")"; done
done

# --- data, model, user ------------------------------------------------------------------------------
log "generate_market, train_model, promote_model, demo_user (inside the worker container)"
t=$(now); manage generate_market --stocks 200 --days 400 --seed 7 >"$OUT/generate.log"; record "generate_market --stocks 200 --days 400 --seed 7: $(since "$t" "$(now)") s"
t=$(now); manage train_model --algorithm xgboost --no-progress >"$OUT/train.log"; record "train_model --algorithm xgboost: $(since "$t" "$(now)") s"
manage promote_model --best --reason smoke >"$OUT/promote.log"
manage demo_user --base-url "http://127.0.0.1:$VCP_HTTP_PORT" >"$OUT/demo_user.log"
TOKEN=$(sed -n 's/^API token: *\([0-9a-f]*\).*/\1/p' "$OUT/demo_user.log")
[ -n "$TOKEN" ] || fail "no API token in demo_user's output"

# --- a batch that beat triggers ---------------------------------------------------------------------
LAST_DAY=$(django_shell "from marketdata.models import DailyBar; from django.db.models import Max; print(DailyBar.objects.aggregate(d=Max('date'))['d'])" | tail -1)
log "one-off beat schedule: score_universe_daily for $LAST_DAY in 10 s"
django_shell "
import datetime as dt, inspect, json
from django.utils import timezone
from django_celery_beat.models import ClockedSchedule, PeriodicTask
from predictions.tasks import score_universe_daily
day_kw = 'day' if 'day' in inspect.signature(score_universe_daily).parameters else 'today'
clock = ClockedSchedule.objects.create(clocked_time=timezone.now() + dt.timedelta(seconds=10))
PeriodicTask.objects.update_or_create(name='compose-smoke-batch', defaults=dict(
    task='predictions.tasks.score_universe_daily', clocked=clock, one_off=True, enabled=True,
    kwargs=json.dumps({day_kw: '$LAST_DAY'})))
" >/dev/null
T_BEAT=$(now)
batch_done() {
  django_shell "from predictions.models import BatchRun; r = BatchRun.objects.filter(date='$LAST_DAY').order_by('-pk').first(); print(r.status if r else 'none')" \
    | tail -1 | grep -qx succeeded
}
wait_for 300 "beat-triggered batch for $LAST_DAY succeeded" batch_done
dc logs --no-color beat | grep -q "Sending due task compose-smoke-batch" || fail "beat did not send the task"
record "beat-triggered batch ($LAST_DAY): succeeded $(since "$T_BEAT" "$(now)") s after the schedule was written"
record "batch: $(django_shell "from predictions.models import BatchRun, Prediction; r = BatchRun.objects.filter(date='$LAST_DAY').latest('pk'); print(f'{Prediction.objects.filter(date=r.date).count()} predictions')" | tail -1)"

# --- /predict through nginx -------------------------------------------------------------------------
SYMBOL=$(sed -n "s/.*\"symbol\": \"\([^\"]*\)\".*/\1/p" "$OUT/demo_user.log" | head -1)
log "POST /api/v1/predict ($SYMBOL) through nginx"
curl -fsS -m 10 -X POST "http://127.0.0.1:$VCP_HTTP_PORT/api/v1/predict" -H "Authorization: Token $TOKEN" \
  -H "Content-Type: application/json" -d "{\"symbol\": \"$SYMBOL\", \"explain\": true}" >"$OUT/predict.json" \
  || fail "/api/v1/predict through nginx"
grep -q '"probability"' "$OUT/predict.json" || fail "no probability in $(cat "$OUT/predict.json")"
record "predict via nginx: $(head -c 200 "$OUT/predict.json")"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$VCP_HTTP_PORT/metrics")
[ "$code" = 404 ] || fail "nginx exposes /metrics ($code)"

# --- Prometheus: every process of every replica, found by DNS ----------------------------------------
PROM="http://127.0.0.1:$VCP_PROMETHEUS_PORT"
prom_value() { curl -fsS -m 5 "$PROM/api/v1/query" --data-urlencode "query=$1" | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'; }
scraped() { [ "$(prom_value "$1")" = "$2" ]; }
wait_for 120 "Prometheus: 4 web targets up (2 replicas x 2 workers)" scraped 'sum(up{job="vcp-web"})' 4
wait_for 120 "Prometheus: 3 worker targets up" scraped 'sum(up{job="vcp-worker"})' 3
wait_for 120 "Prometheus: the /predict call in vcp_predictions_total" scraped 'sum(vcp_predictions_total) > 0' 1
record "prometheus: up{job=vcp-web}=$(prom_value 'sum(up{job="vcp-web"})') targets, up{job=vcp-worker}=$(prom_value 'sum(up{job="vcp-worker"})'), vcp_predictions_total=$(prom_value 'sum(vcp_predictions_total)')"

# --- Alertmanager: the heartbeat reaches the webhook -------------------------------------------------
heartbeat_received() {
  dc exec -T alert-sink python -c "import json,urllib.request; d=json.load(urllib.request.urlopen('http://127.0.0.1:9099/received')); exit(0 if any(a['name']=='VcpAlertingHeartbeat' for e in d['/heartbeat'] for a in e['alerts']) else 1)"
}
wait_for 150 "VcpAlertingHeartbeat delivered to the webhook via Alertmanager" heartbeat_received
record "alertmanager: VcpAlertingHeartbeat delivered to alert-sink; $(curl -fsS "$PROM/api/v1/alertmanagers" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["activeAlertmanagers"]))') alertmanager(s) discovered by Prometheus"

# --- a redeploy: database up, schema current ---------------------------------------------------------
log "redeploy: migrate, then new web containers, with the database up"
T_REDEPLOY=$(now)
dc run --rm migrate >"$OUT/redeploy-migrate.log" 2>&1 || fail "migrate on redeploy"
T_MIGRATED=$(now)
OLD_WEB=$(dc ps -q web | sort | tr '\n' ' ')
dc up -d --no-deps --force-recreate web >/dev/null 2>&1
for c in $(dc ps -q web); do
  case " $OLD_WEB " in *" $c "*) fail "web was not recreated" ;; esac
  ip=$(ip_of "$c")
  wait_for 120 "recreated web $c answers" curl -fsS -m 2 -H "Host: localhost" "http://$ip:8000/api/v1/health"
done
T_WEB=$(now)
record "redeploy: migrate $(since "$T_REDEPLOY" "$T_MIGRATED") s, then both new web containers answered $(since "$T_MIGRATED" "$T_WEB") s later: $(since "$T_REDEPLOY" "$T_WEB") s after the redeploy began with the database up"
for c in $(dc ps -q web); do wait_for 120 "recreated web healthy" is_healthy "$c"; done

# --- graceful stops, measured ------------------------------------------------------------------------
log "graceful stops"
WEB1=$(dc ps -q web | head -1)
ITEMS=$(django_shell "import json; from marketdata.models import Instrument; print(json.dumps([{'symbol': s} for s in Instrument.objects.values_list('symbol', flat=True)[:200]]))" | tail -1)
# Requests through nginx while one replica stops: gunicorn finishes what it accepted, nginx sends the
# rest to the other replica, so none may fail.
( for i in $(seq 1 60); do
    curl -s -o /dev/null -w '%{http_code}\n' -m 30 -X POST "http://127.0.0.1:$VCP_HTTP_PORT/api/v1/batch_predict" \
      -H "Authorization: Token $TOKEN" -H "Content-Type: application/json" -d "{\"items\": $ITEMS}"
  done >"$OUT/during-stop.codes" ) &
LOAD=$!
sleep 1
t=$(now); docker stop -t 40 "$WEB1" >/dev/null; record "docker stop web ${WEB1:0:12} under load: $(since "$t" "$(now)") s, exit code $(docker inspect -f '{{.State.ExitCode}}' "$WEB1")"
wait "$LOAD" || true
record "batch_predict through nginx while it stopped: $(sort "$OUT/during-stop.codes" | uniq -c | awk '{printf "%s x HTTP %s; ", $1, $2}')"
[ "$(grep -vc '^200$' "$OUT/during-stop.codes")" = 0 ] || fail "requests failed while a web replica stopped"
docker start "$WEB1" >/dev/null

BEAT=$(cid beat)
t=$(now); docker stop -t 20 "$BEAT" >/dev/null; record "docker stop beat: $(since "$t" "$(now)") s, exit code $(docker inspect -f '{{.State.ExitCode}}' "$BEAT")"

WORKER=$(cid worker)
t=$(now); docker stop -t 90 "$WORKER" >/dev/null; record "docker stop worker (idle): $(since "$t" "$(now)") s, exit code $(docker inspect -f '{{.State.ExitCode}}' "$WORKER")"
docker start "$WORKER" >/dev/null
wait_for 120 "worker healthy again" is_healthy "$WORKER"

# A worker busy with a task: it finishes a short one before exiting, and requeues a long one.
PROBE_Q=vcp-stop-probe
dc run -d --no-deps --name "${COMPOSE_PROJECT_NAME}-probe" -e REMAP_SIGTERM=SIGQUIT worker \
  celery -A vcp_platform worker --loglevel=INFO --concurrency=1 -Q "$PROBE_Q" -n probe@%h -I deploy.stop_probe \
  -- worker.soft_shutdown_timeout=60 >/dev/null
PROBE="${COMPOSE_PROJECT_NAME}-probe"
probe_ready() { [ "$(docker logs "$PROBE" 2>&1 | grep -c ' ready\.')" -ge "$1" ]; }
probe_said() { docker logs "$PROBE" 2>&1 | grep -q "$1"; }
wait_for 120 "probe worker up" probe_ready 1
send_sleep() {
  dc exec -T worker python -c "
from vcp_platform.celery import app
print(app.send_task('deploy.stop_probe.sleep', args=[$1], queue='$PROBE_Q').id)" | tail -1
}
send_sleep 15 >/dev/null
wait_for 30 "probe task started" probe_said 'stop_probe: sleeping 15'
t=$(now); docker stop -t 90 "$PROBE" >/dev/null
record "docker stop worker busy with a 15 s task: $(since "$t" "$(now)") s (Celery waits out the whole soft window once a task is running); task $(docker logs "$PROBE" 2>&1 | grep -q 'stop_probe: slept 15' && echo finished || echo NOT-finished)"
docker start "$PROBE" >/dev/null
wait_for 120 "probe worker up again" probe_ready 2
send_sleep 600 >/dev/null
wait_for 30 "long probe task started" probe_said 'stop_probe: sleeping 600'
t=$(now); docker stop -t 90 "$PROBE" >/dev/null
STOP_LONG=$(since "$t" "$(now)")
QUEUED=$(dc exec -T redis redis-cli -n 1 llen "$PROBE_Q" | tr -d '\r')
record "docker stop worker busy with a 600 s task: $STOP_LONG s (soft shutdown 60 s); messages back in queue $PROBE_Q: $QUEUED"
docker rm -f "$PROBE" >/dev/null
[ "$QUEUED" -ge 1 ] || fail "the cancelled task was not requeued"

t=$(now); dc stop >/dev/null 2>&1; record "compose stop (everything): $(since "$t" "$(now)") s"
