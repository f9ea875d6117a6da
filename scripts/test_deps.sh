#!/usr/bin/env bash
# Debian packages the test suite needs besides PostgreSQL and Redis (scripts/services.sh):
# Chromium, to open the backtest report headless and fail on console errors. Idempotent.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
echo "[test-deps] installing Debian's chromium (headless report check)" >&2
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
