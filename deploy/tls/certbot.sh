#!/bin/sh
# Let's Encrypt certificates for nginx (deploy/compose.tls.yml), HTTP-01 through nginx's
# /.well-known/acme-challenge/ webroot, copied to the names deploy/nginx/vcp-tls.conf reads.
#   deploy/tls/certbot.sh issue vcp.example.com ops@example.com   # first time
#   deploy/tls/certbot.sh renew                                    # from cron, twice a day
# Before the first issue nginx needs some certificate to start: deploy/tls/selfsigned.sh first.
set -eu
cd "$(dirname "$0")/../.."
tls_dir="${VCP_TLS_DIR:-var/tls}"
if docker compose version >/dev/null 2>&1; then compose="docker compose"; else compose="docker-compose"; fi
dc() { $compose -f docker-compose.yml -f deploy/compose.tls.yml "$@"; }
deploy() {  # copy the live certificate to nginx's paths, then reload nginx without dropping connections
  domain="$1"
  dc run --rm --entrypoint sh certbot -c \
    "cp -L /etc/letsencrypt/live/$domain/fullchain.pem /etc/letsencrypt/live/$domain/privkey.pem /tls/"
  dc exec -T nginx nginx -s reload
}
case "${1:-}" in
  issue)
    domain="$2"; email="$3"
    dc run --rm certbot certonly --webroot -w /var/www/certbot -d "$domain" --email "$email" \
      --agree-tos --non-interactive --keep-until-expiring
    printf '%s\n' "$domain" >"$tls_dir/.domain"
    deploy "$domain"
    ;;
  renew)
    dc run --rm certbot renew --webroot -w /var/www/certbot --quiet
    deploy "$(cat "$tls_dir/.domain")"
    ;;
  *) echo "usage: $0 issue DOMAIN EMAIL | renew" >&2; exit 2 ;;
esac
