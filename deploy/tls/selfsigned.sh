#!/bin/sh
# A self-signed certificate for internal use (or as the placeholder nginx starts with before certbot
# has issued the real one): writes DIR/fullchain.pem and DIR/privkey.pem, the names
# deploy/nginx/vcp-tls.conf reads.
#   deploy/tls/selfsigned.sh DIR HOSTNAME [MORE_NAMES...]
# Browsers warn on it until the certificate (fullchain.pem) is trusted on the clients; for a real
# internal CA, sign a CSR there instead and put its chain in fullchain.pem.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 DIR HOSTNAME [MORE_NAMES...]" >&2; exit 2; }
dir="$1"; shift
cn="$1"
san=""
for name in "$@"; do
  case "$name" in
    *[!0-9.]*) san="${san:+$san,}DNS:$name" ;;
    *) san="${san:+$san,}IP:$name" ;;
  esac
done
mkdir -p "$dir"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days "${VCP_TLS_DAYS:-397}" \
  -subj "/CN=$cn" -addext "subjectAltName=$san" \
  -keyout "$dir/privkey.pem" -out "$dir/fullchain.pem" 2>/dev/null
chmod 644 "$dir/fullchain.pem"
echo "wrote $dir/fullchain.pem and $dir/privkey.pem for $* (valid ${VCP_TLS_DAYS:-397} days)" >&2
