#!/usr/bin/env bash
# 404 no_data_for_date: the instrument has no bar on that date (the demo market starts in 2023).
VCP_URL="${VCP_URL:-http://127.0.0.1:8000}"

curl -sS -w '\n%{http_code}\n' -X POST "$VCP_URL/api/v1/predict" -H "Authorization: Token $VCP_TOKEN" \
     -H 'Content-Type: application/json' -d '{"symbol": "ARVIIND", "date": "2015-01-05"}'
