#!/usr/bin/env bash
# The real-data runs of docs/backtesting.md, one after the other (they are long: never in parallel).
#
#   DATABASE_URL=postgres://vcp:vcp@127.0.0.1:5432/vcp_backtest scripts/backtest_realdata.sh
#
# Loads ../shared/data/nse_eq_daily_2015_2022.parquet (idempotent), runs the 36-fold walk-forward
# over 2020-2022 with its trading simulation, trains a model on 2016-2019 and backtests it frozen over
# 2020-2022, compares XGBoost with LightGBM and all features with a variant on 2022, checks both
# reports in headless Chromium and prints the Markdown tables. Celery runs eager unless REDIS_URL or
# CELERY_BROKER_URL points at a broker with workers. Reports go to $VCP_DATA_DIR/reports.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${DATABASE_URL:?set DATABASE_URL to your own PostgreSQL database}"
export DEBUG="${DEBUG:-1}" SECRET_KEY="${SECRET_KEY:-backtest-local}" VCP_LOG_TO_FILE="${VCP_LOG_TO_FILE:-0}"
export LOG_LEVEL="${LOG_LEVEL:-WARNING}"
export VCP_DATA_DIR="${VCP_DATA_DIR:-$PWD/var}"
PY=.venv/bin/python
DATA=../shared/data/nse_eq_daily_2015_2022.parquet
REPORTS="$VCP_DATA_DIR/reports"
mkdir -p "$REPORTS"

$PY manage.py migrate --noinput
time $PY manage.py ingest_bhavcopy --no-progress "$DATA" || true  # "already ingested" on a re-run

time $PY manage.py walk_forward --algorithm lightgbm --start 2020-01-01 --folds 36 --train-days 365 \
  --test-days 30 --report "$REPORTS/walk_forward_lightgbm_2020.html"

$PY manage.py train_model --algorithm lightgbm --start 2016-01-01 --end 2019-12-31 \
  --train-end 2018-12-31 --valid-end 2019-06-30 --no-progress | tee "$REPORTS/train_model.log"
version=$(sed -n 's/^Registered .* (id \([0-9]*\),.*/\1/p' "$REPORTS/train_model.log")
time $PY manage.py run_backtest --model-version "$version" --start 2020-01-01 --end 2022-12-30 \
  --report "$REPORTS/backtest_v${version}_2020_2022.html"

time $PY manage.py compare_models --algorithms xgboost lightgbm --start 2022-01-01 --end 2022-12-30
time $PY manage.py compare_models --feature-sets all no_circuit_history --start 2022-01-01 --end 2022-12-30

$PY scripts/check_report_chromium.py "$REPORTS/walk_forward_lightgbm_2020.html" \
  "$REPORTS/backtest_v${version}_2020_2022.html"
$PY scripts/backtest_tables.py "$REPORTS/walk_forward_lightgbm_2020.json"
$PY scripts/backtest_tables.py "$REPORTS/backtest_v${version}_2020_2022.json"
