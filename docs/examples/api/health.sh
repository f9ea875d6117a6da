#!/usr/bin/env bash
# Liveness and readiness: no token needed.
set -euo pipefail
VCP_URL="${VCP_URL:-http://127.0.0.1:8000}"

curl -sS --fail-with-body "$VCP_URL/api/v1/health"
echo
curl -sS --fail-with-body "$VCP_URL/api/v1/health/ready"
echo
