#!/usr/bin/env bash
# Several stocks in one call: each item succeeds or fails on its own (NOSUCH fails, the others do not).
set -euo pipefail
VCP_URL="${VCP_URL:-http://127.0.0.1:8000}"

curl -sS --fail-with-body -X POST "$VCP_URL/api/v1/batch_predict" \
     -H "Authorization: Token $VCP_TOKEN" \
     -H 'Content-Type: application/json' \
     -d '{"items": [{"symbol": "ARVIIND"}, {"symbol": "ANRIPOWER", "exchange": "NSE"}, {"symbol": "NOSUCH"}]}'
echo
