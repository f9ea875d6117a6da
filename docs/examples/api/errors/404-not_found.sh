#!/usr/bin/env bash
# 404 not_found: an unknown model id (also an unknown URL under /api/, or a page past the end).
VCP_URL="${VCP_URL:-http://127.0.0.1:8000}"

curl -sS -w '\n%{http_code}\n' "$VCP_URL/api/v1/models/999999" -H "Authorization: Token $VCP_TOKEN"
