#!/usr/bin/env bash
# One stock's next-day upper-circuit probability, with the 5 largest feature contributions.
set -euo pipefail
VCP_URL="${VCP_URL:-http://127.0.0.1:8000}"

curl -sS --fail-with-body -X POST "$VCP_URL/api/v1/predict" \
     -H "Authorization: Token $VCP_TOKEN" \
     -H 'Content-Type: application/json' \
     -d '{"symbol": "ARVIIND", "explain": true}'
echo
