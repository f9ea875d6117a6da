#!/usr/bin/env bash
# A staff user without a token: log in like the admin page does, then send the CSRF token with every POST.
set -euo pipefail
VCP_URL="${VCP_URL:-http://127.0.0.1:8000}"
jar=$(mktemp); trap 'rm -f "$jar"' EXIT

# 1. The login page sets the csrftoken cookie; the login form must echo it back.
curl -sS --fail -c "$jar" -o /dev/null "$VCP_URL/admin/login/"
csrf=$(awk '$6 == "csrftoken" {print $7}' "$jar")
curl -sS --fail -b "$jar" -c "$jar" -o /dev/null -H "Referer: $VCP_URL/admin/login/" \
     --data-urlencode "csrfmiddlewaretoken=$csrf" --data-urlencode "username=$VCP_USER" \
     --data-urlencode "password=$VCP_PASSWORD" "$VCP_URL/admin/login/"
grep -q sessionid "$jar" || { echo "login failed: check VCP_USER and VCP_PASSWORD" >&2; exit 1; }

# 2. Django rotates the CSRF token at login: read it again, and send it as X-CSRFToken.
csrf=$(awk '$6 == "csrftoken" {print $7}' "$jar")
curl -sS --fail-with-body -b "$jar" -X POST "$VCP_URL/api/v1/predict" \
     -H "X-CSRFToken: $csrf" -H "Referer: $VCP_URL/" -H 'Content-Type: application/json' \
     -d '{"symbol": "ANRIPOWER"}'
echo
