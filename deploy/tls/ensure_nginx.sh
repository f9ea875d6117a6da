#!/bin/sh
# Debian's nginx for tests/deploy/test_tls.py (nginx on loopback, no Docker). Idempotent. The package's
# service is not started: a policy-rc.d blocks it for the length of the install.
set -eu
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] && exit 0
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
policy=/usr/sbin/policy-rc.d
created=0
if [ ! -e "$policy" ]; then
  as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
  created=1
fi
status=0
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light openssl \
  >/dev/null 2>&1 || {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light openssl \
    >/dev/null || status=$?
}
[ "$created" = 1 ] && as_root rm -f "$policy"
exit "$status"
