#!/usr/bin/env bash
# 415 unsupported_media_type: a body that is not application/json.
VCP_URL="${VCP_URL:-http://127.0.0.1:8000}"

curl -sS -w '\n%{http_code}\n' -X POST "$VCP_URL/api/v1/predict" -H "Authorization: Token $VCP_TOKEN" \
     -H 'Content-Type: text/plain' -d 'symbol=ARVIIND'
