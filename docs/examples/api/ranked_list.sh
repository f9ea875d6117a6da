#!/usr/bin/env bash
# The latest scored day's ranked list, what the desk reads each morning: the top 5 by rank.
set -euo pipefail
VCP_URL="${VCP_URL:-http://127.0.0.1:8000}"

curl -sS --fail-with-body -G "$VCP_URL/api/v1/predictions" \
     -H "Authorization: Token $VCP_TOKEN" \
     --data-urlencode 'ordering=rank' --data-urlencode 'page_size=5'
echo
