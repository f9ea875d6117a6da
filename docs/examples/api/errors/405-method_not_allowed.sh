#!/usr/bin/env bash
# 405 method_not_allowed: /predict takes POST only.
VCP_URL="${VCP_URL:-http://127.0.0.1:8000}"

curl -sS -w '\n%{http_code}\n' "$VCP_URL/api/v1/predict" -H "Authorization: Token $VCP_TOKEN"
