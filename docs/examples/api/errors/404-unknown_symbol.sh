#!/usr/bin/env bash
# 404 unknown_symbol: no such instrument (on that exchange).
VCP_URL="${VCP_URL:-http://127.0.0.1:8000}"

curl -sS -w '\n%{http_code}\n' -X POST "$VCP_URL/api/v1/predict" -H "Authorization: Token $VCP_TOKEN" \
     -H 'Content-Type: application/json' -d '{"symbol": "NOSUCH"}'
