#!/usr/bin/env bash
# What deploy/image/build.sh needs, from Debian's packages: podman (builds the
# Dockerfile with --isolation chroot; no Docker engine needed), mmdebstrap (the
# bookworm base images), and util-linux's unshare (runs the exported image).
set -euo pipefail
need=()
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing ${need[*]} from Debian's packages..." >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${need[@]}" uidmap >/dev/null
else
  echo "Missing: ${need[*]}. Install them (Debian: sudo apt-get install ${need[*]})." >&2
  exit 1
fi
