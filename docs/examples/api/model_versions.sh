#!/usr/bin/env bash
# The model versions (read-only), then one of them by id (VCP_MODEL_ID, default 1).
set -euo pipefail
VCP_URL="${VCP_URL:-http://127.0.0.1:8000}"

curl -sS --fail-with-body "$VCP_URL/api/v1/models" -H "Authorization: Token $VCP_TOKEN"
echo
curl -sS --fail-with-body "$VCP_URL/api/v1/models/${VCP_MODEL_ID:-1}" -H "Authorization: Token $VCP_TOKEN"
echo
