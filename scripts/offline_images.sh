#!/usr/bin/env bash
# Build every image docker-compose needs from Debian's packages and PyPI only: no Docker Hub.
#
#   vcp/debian:bookworm        debootstrap --variant=minbase, trimmed like debian:bookworm-slim
#   vcp/python:3.11-bookworm   Debian's python3.11 + venv: the app image's BASE_IMAGE
#   vcp/postgres:15 vcp/redis:7 vcp/nginx:1.22 vcp/prometheus:2.42 vcp/alertmanager:0.25
#   vcp-platform:serve         web, beat, migrate (no training libraries)
#   vcp-platform:latest        worker and one-off training commands (the full runtime)
#
# deploy/compose.offline.yml points compose at these tags. The same path serves a site that mirrors
# Debian and PyPI but not Docker Hub: set DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR and PIP_INDEX_URL.
#
# Usage: scripts/offline_images.sh [--rebuild-base] [--no-app]
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
SUITE=bookworm
# A CA bundle for pip inside the build (a TLS-inspecting proxy, a private index): passed as a
# BuildKit secret, so it is never written into a layer.
# Default: the bundle the host's own pip trusts, else the system bundle.
PIP_CA_BUNDLE="${PIP_CA_BUNDLE:-${PIP_CERT:-$(python3 -m pip config get global.cert 2>/dev/null || true)}}"
[ -n "$PIP_CA_BUNDLE" ] || PIP_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
WORK="${VCP_IMAGE_WORKDIR:-${TMPDIR:-/tmp}/vcp-offline-images}"
REBUILD_BASE=0
BUILD_APP=1
for arg in "$@"; do
  case "$arg" in
    --rebuild-base) REBUILD_BASE=1 ;;
    --no-app) BUILD_APP=0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { printf '[offline-images] %s\n' "$*" >&2; }

# BuildKit (for the pip CA secret and the pip cache mount): a client with the buildx plugin, or a
# 20.10 client (Debian's docker.io), which has BuildKit built in.
pick_docker() {
  local d
  for d in ${DOCKER:-} docker /usr/bin/docker; do
    "$d" buildx version >/dev/null 2>&1 && { echo "$d"; return; }
  done
  for d in ${DOCKER:-} docker /usr/bin/docker; do
    "$d" version --format '{{.Client.Version}}' 2>/dev/null | grep -q '^20\.' && { echo "$d"; return; }
  done
  log "no docker client with BuildKit: install the buildx plugin (or Debian's docker.io)"
  exit 1
}
DOCKER="$(pick_docker)"
docker() { command "$DOCKER" "$@"; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }
export DOCKER_BUILDKIT=1

build_debian_base() {
  if have_image vcp/debian:bookworm && [ "$REBUILD_BASE" = 0 ]; then
    log "vcp/debian:bookworm exists (--rebuild-base to rebuild)"
    return
  fi
  command -v debootstrap >/dev/null || { log "installing debootstrap"; apt-get install -y -qq debootstrap >/dev/null; }
  local root="$WORK/rootfs"
  rm -rf "$root" && mkdir -p "$root"
  log "debootstrap --variant=minbase $SUITE from $DEBIAN_MIRROR"
  debootstrap --variant=minbase "$SUITE" "$root" "$DEBIAN_MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $DEBIAN_MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $DEBIAN_SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # What debian:bookworm-slim does: no docs, man pages or translations, now or in later installs.
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
EOF
  cat >"$root/etc/apt/apt.conf.d/docker-slim" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
EOF
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$root/usr/share/man/"* "$root/usr/share/info/"* "$root/usr/share/lintian"
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  rm -rf "$root/var/cache/apt/"*.bin "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"* \
    "$root/var/log/"*.log "$root/var/log/apt/"* "$root/tmp/"*
  log "importing vcp/debian:bookworm"
  tar -C "$root" -c . | docker import --change 'CMD ["bash"]' - vcp/debian:bookworm >/dev/null
  rm -rf "$root"
}

build_from_debian() {  # tag dockerfile
  log "building $1 from deploy/images/$2"
  docker build --network host -q -t "$1" -f "deploy/images/$2" deploy/images >/dev/null
}

build_app() {  # tag target
  local secret=()
  if [ -n "$PIP_CA_BUNDLE" ] && [ -f "$PIP_CA_BUNDLE" ]; then
    secret=(--secret "id=pip_ca,src=$PIP_CA_BUNDLE")
  fi
  log "building $1 (target $2) on vcp/python:3.11-bookworm"
  docker build --network host "${secret[@]}" --target "$2" \
    --build-arg BASE_IMAGE=vcp/python:3.11-bookworm \
    ${PIP_INDEX_URL:+--build-arg PIP_INDEX_URL="$PIP_INDEX_URL"} \
    -t "$1" .
}

mkdir -p "$WORK"
build_debian_base
build_from_debian vcp/python:3.11-bookworm python.Dockerfile
build_from_debian vcp/postgres:15 postgres.Dockerfile
build_from_debian vcp/redis:7 redis.Dockerfile
build_from_debian vcp/nginx:1.22 nginx.Dockerfile
build_from_debian vcp/prometheus:2.42 prometheus.Dockerfile
build_from_debian vcp/alertmanager:0.25 alertmanager.Dockerfile
if [ "$BUILD_APP" = 1 ]; then
  build_app vcp-platform:serve serve
  build_app vcp-platform:latest full
fi
docker image ls --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' | grep -E '^vcp' | sort >&2
