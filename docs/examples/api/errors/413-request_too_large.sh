#!/usr/bin/env bash
# 413 request_too_large: a body over VCP_MAX_REQUEST_BYTES (2 MiB by default).
VCP_URL="${VCP_URL:-http://127.0.0.1:8000}"

python3 -c 'print("{\"items\": [" + ",".join(["{\"symbol\": \"ARVIIND\"}"] * 120000) + "]}")' |
  curl -sS -w '\n%{http_code}\n' -X POST "$VCP_URL/api/v1/batch_predict" -H "Authorization: Token $VCP_TOKEN" \
     -H 'Content-Type: application/json' --data-binary @-
