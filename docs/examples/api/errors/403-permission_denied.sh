#!/usr/bin/env bash
# 403 permission_denied: a staff session (cookie) POSTing without the X-CSRFToken header. Tokens need no CSRF token.
VCP_URL="${VCP_URL:-http://127.0.0.1:8000}"
jar=$(mktemp); trap 'rm -f "$jar"' EXIT
curl -sS -c "$jar" -o /dev/null "$VCP_URL/admin/login/"
curl -sS -b "$jar" -c "$jar" -o /dev/null -H "Referer: $VCP_URL/admin/login/" \
     --data-urlencode "csrfmiddlewaretoken=$(awk '$6 == "csrftoken" {print $7}' "$jar")" \
     --data-urlencode "username=$VCP_USER" --data-urlencode "password=$VCP_PASSWORD" "$VCP_URL/admin/login/"

curl -sS -w '\n%{http_code}\n' -b "$jar" -X POST "$VCP_URL/api/v1/predict" \
     -H 'Content-Type: application/json' -d '{"symbol": "ARVIIND"}'
