#!/usr/bin/env bash
# 401 not_authenticated: no Authorization header (and no staff session).
VCP_URL="${VCP_URL:-http://127.0.0.1:8000}"

curl -sS -w '\n%{http_code}\n' -X POST "$VCP_URL/api/v1/predict" \
     -H 'Content-Type: application/json' -d '{"symbol": "ARVIIND"}'
