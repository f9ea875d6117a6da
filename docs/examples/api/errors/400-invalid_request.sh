#!/usr/bin/env bash
# 400 invalid_request: an unknown key (or a wrong type, a missing field, NaN in a feature).
VCP_URL="${VCP_URL:-http://127.0.0.1:8000}"

curl -sS -w '\n%{http_code}\n' -X POST "$VCP_URL/api/v1/predict" -H "Authorization: Token $VCP_TOKEN" \
     -H 'Content-Type: application/json' -d '{"symbol": "ARVIIND", "explian": true}'
