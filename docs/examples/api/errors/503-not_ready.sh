#!/usr/bin/env bash
# 503 not_ready: /health/ready when a dependency fails (here: no production model); details.checks says which.
VCP_URL="${VCP_URL:-http://127.0.0.1:8000}"

curl -sS -w '\n%{http_code}\n' "$VCP_URL/api/v1/health/ready"
