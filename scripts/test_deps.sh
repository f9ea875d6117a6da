#!/usr/bin/env bash
# Debian packages the test suite needs besides PostgreSQL and Redis (scripts/services.sh):
# Chromium, to open the backtest report headless and fail on console errors; Node.js, to run the
# documentation's JavaScript API examples. Idempotent: installs only what is missing.
set -euo pipefail
missing=()
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  missing+=(chromium)
fi
if ! command -v node >/dev/null 2>&1; then
  missing+=(nodejs)
fi
[ "${#missing[@]}" -eq 0 ] && exit 0
echo "[test-deps] installing Debian's ${missing[*]}" >&2
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
