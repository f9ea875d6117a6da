#!/bin/sh
# make_rootfs.sh ROOTFS VENV [SKIP_ROOTFS]
#
# A minimal root file system for the virtualenv's interpreter, laid out at the same paths as in the
# build image: the interpreter and its standard library, every shared library that the interpreter,
# its extension modules and the venv's extension modules load (the ldd closure, with the loader cache),
# busybox as /bin/sh and the usual commands, CA certificates, time zones, users root/nobody/vcp, and a
# dpkg status file naming the Debian packages those files came from, so image scanners still work.
# Works on the official python:3.11-slim image (/usr/local) and on Debian's python3.11 (/usr).
#
# With SKIP_ROOTFS (an earlier ROOTFS), only the shared libraries missing from it are collected: the
# `full` target adds those the training packages need on top of the `serve` root file system.
set -eu
root="$1"
venv="$2"
skip="${3:-}"
mkdir -p "$root"

copy() {  # copy PATH (its name kept, its directory canonical) into the root, unless SKIP_ROOTFS has it
  dir="$(cd "$(dirname "$1")" && pwd -P)"
  [ -n "$skip" ] && [ -e "$skip$dir/${1##*/}" ] && return 0
  mkdir -p "$root$dir"
  cp -L "$1" "$root$dir/"
  copied="$copied $1"
}
copied=""

if [ -z "$skip" ]; then
  # Merged /usr: keep /bin, /lib, /lib64, /sbin as the same symlinks, so libraries land once.
  mkdir -p "$root/usr/bin" "$root/usr/lib" "$root/usr/sbin"
  for d in bin lib lib64 sbin; do
    if [ -L "/$d" ]; then ln -s "$(readlink "/$d")" "$root/$d"; fi
  done

  py="$(readlink -f "$venv/bin/python")"
  stdlib="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')"
  # The interpreter and every symlink the venv reaches it through (python -> python3 -> /usr/...).
  link="$venv/bin/python"
  while [ -L "$link" ]; do
    target="$(readlink "$link")"
    case "$target" in /*) ;; *) target="$(dirname "$link")/$target" ;; esac
    case "$link" in "$venv"/*) ;; *) cp -a --parents "$link" "$root" ;; esac
    link="$target"
  done
  cp -a --parents "$py" "$root"
  for f in /usr/local/bin/python /usr/local/bin/python3 /usr/bin/python3; do
    if [ -e "$f" ] && [ ! -e "$root$f" ]; then cp -a --parents "$f" "$root"; fi
  done
  # The standard library without what a server never imports, nor the base image's own site-packages
  # (pip and setuptools in the official image; the venv does not see them).
  tar -C / -c --exclude="${stdlib#/}/test" --exclude="${stdlib#/}/idlelib" --exclude="${stdlib#/}/tkinter" \
    --exclude="${stdlib#/}/turtledemo" --exclude="${stdlib#/}/ensurepip" --exclude="${stdlib#/}/lib2to3" \
    --exclude="${stdlib#/}/config-*" --exclude="${stdlib#/}/pydoc_data" \
    --exclude="${stdlib#/}/site-packages" "${stdlib#/}" | tar -C "$root" -x

  # Shell and tools for `sh -c`, `docker exec` and debugging; ldconfig for ctypes.util.find_library.
  cp /bin/busybox "$root/usr/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ -e "$root/usr/bin/$applet" ] || ln -s busybox "$root/usr/bin/$applet"
  done
  cp -L /sbin/ldconfig "$root/usr/sbin/ldconfig"

  mkdir -p "$root/etc/ssl/certs" "$root/tmp/pycache" "$root/data" "$root/home/vcp" "$root/app"
  chmod 1777 "$root/tmp"
  chown 10001:10001 "$root/tmp/pycache"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
  cp /etc/ld.so.cache "$root/etc/" 2>/dev/null || true
  cp /etc/nsswitch.conf "$root/etc/" 2>/dev/null || true
  [ -d /usr/share/zoneinfo ] && cp -a --parents /usr/share/zoneinfo "$root"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nvcp:x:10001:10001:vcp:/home/vcp:/bin/sh\n' \
    >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\nvcp:x:10001:\n' >"$root/etc/group"
  chown 10001:10001 "$root/data" "$root/home/vcp"
  # Extension modules a server never loads, whose libraries (Berkeley DB, Kerberos via NIS, Tk,
  # ncurses) would otherwise come along.
  find "$root$stdlib/lib-dynload" \( -name '_dbm.*' -o -name '_gdbm.*' -o -name 'nis.*' -o -name '_tkinter.*' \
    -o -name '_curses*' \) -delete
  elves="$py $(find "$root$stdlib" -name '*.so') $(find "$venv" -name '*.so*' -type f)"
else
  elves="$(find "$venv" -name '*.so*' -type f)"
fi

# The ldd closure of every ELF file, without the venv's own libraries (already in the venv).
libs="$(for f in $elves; do ldd "$f" 2>/dev/null; done \
  | sed -n 's/.*=> \(\/[^ ]*\) (0x.*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (0x.*/\1/p' | grep -v "^$venv/" | sort -u)"
for lib in $libs; do copy "$lib"; done

# dpkg status for the packages whose files were copied (scanners such as trivy read it).
if command -v dpkg-query >/dev/null 2>&1; then
  files="$copied"
  [ -z "$skip" ] && files="$files $(readlink -f "$venv/bin/python") /bin/busybox"
  pkgs="$(for f in $files; do dpkg -S "$(readlink -f "$f")" 2>/dev/null || dpkg -S "$f" 2>/dev/null; done \
    | cut -d: -f1 | tr ',' '\n' | sed 's/ //g' | sort -u)"
  mkdir -p "$root/var/lib/dpkg/status.d"
  for p in $pkgs; do dpkg-query -s "$p" >"$root/var/lib/dpkg/status.d/$p" 2>/dev/null || true; done
fi
