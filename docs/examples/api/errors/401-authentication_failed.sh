#!/usr/bin/env bash
# 401 authentication_failed: a wrong, deleted or revoked token.
VCP_URL="${VCP_URL:-http://127.0.0.1:8000}"

curl -sS -w '\n%{http_code}\n' -X POST "$VCP_URL/api/v1/predict" -H 'Authorization: Token 0000000000000000000000000000000000000000' \
     -H 'Content-Type: application/json' -d '{"symbol": "ARVIIND"}'
