#!/usr/bin/env bash
# Builds deploy/docker/Dockerfile on a machine without a Docker engine, from
# Debian's packages and a local wheelhouse, and exports the image's root
# filesystem for tests/image (which runs it with unshare + chroot):
#
#   1. base images: `mmdebstrap --variant=minbase bookworm` with Debian's
#      python3 (3.11) and, for the assets stage, nodejs + npm; `podman import`
#      tags them localhost/sen-base-python and localhost/sen-base-node;
#   2. a wheelhouse of the exact pins in pyproject.toml, filled on the host
#      with `pip wheel` (the host's pip configuration chooses the index: no
#      registry address is written into the repository or the image);
#   3. `podman build --isolation chroot` with PYTHON_IMAGE/NODE_IMAGE naming the
#      bases, PIP_INSTALL_OPTIONS="--no-index --find-links /wheels" (the
#      wheelhouse is a read-only build volume) and NPM_CI_OPTIONS="--offline
#      --cache /npm-cache" (an npm cache filled on the host by `npm ci`);
#   4. `podman create` + `podman export` into $OUT/rootfs, with the image's
#      environment, working directory and entrypoint in $OUT/image.json.
#
# Cached between runs under SEN_IMAGE_CACHE (default /var/cache/sen-image): the
# base tarballs and the wheelhouse, keyed by what they are made of; podman keeps
# its own layer cache. A cold run builds all of it. The production build stays
# `docker build -f deploy/docker/Dockerfile .` from python:3.11-slim.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${SEN_IMAGE_CACHE:-/var/cache/sen-image}"
out="${SEN_IMAGE_OUT:-$root/var/image}"
tag="${SEN_IMAGE_TAG:-localhost/sen-trust:test}"
python="${PYTHON:-$root/.venv/bin/python}"
log() { echo "image: $*" >&2; }
t0=$(date +%s)
elapsed() { echo "$(( $(date +%s) - t0 )) s"; }

"$here/install-tools.sh"
mkdir -p "$cache" "$out"
exec 9>"$cache/.lock"
flock 9   # one build at a time on this machine

# --- 1. base images
base() {  # base NAME PACKAGES...
  local name="$1"; shift
  local key; key="$(echo "bookworm minbase $*" | sha256sum | cut -c1-16)"
  local tar="$cache/$name-$key.tar" image="localhost/sen-base-$name:bookworm"
  if [[ "$(podman image inspect --format '{{index .Labels "sen.base"}}' "$image" 2>/dev/null)" == "$key" ]]; then
    return
  fi
  if [[ ! -s "$tar" ]]; then
    log "mmdebstrap $name ($*)"
    rm -rf "$tar.part.tar"   # (mmdebstrap picks its output format from the name)
    mmdebstrap --quiet --variant=minbase --include="$(IFS=,; echo "$*")" \
      --aptopt='APT::Install-Recommends "false"' bookworm "$tar.part.tar"
    mv "$tar.part.tar" "$tar"
  fi
  log "podman import $image"
  podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' --change "LABEL sen.base=$key" \
    --change 'CMD ["/bin/bash"]' "$tar" "$image" >/dev/null
}
base python python3 python3-venv python-is-python3 tini ca-certificates
base node nodejs npm ca-certificates
log "base images ready ($(elapsed))"

# --- 2. the wheelhouse
requirements="$(mktemp)"
trap 'rm -f "$requirements"' EXIT
"$python" - "$root/pyproject.toml" > "$requirements" <<'PY'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))
print("\n".join(project["project"]["dependencies"]))
# what `pip install .` needs to build the platform's own wheel, offline
print("\n".join(r for r in project["build-system"]["requires"]))
print("wheel==0.45.1")
PY
key="$(sha256sum "$requirements" | cut -c1-16)"
wheels="$cache/wheelhouse-$key"
if [[ ! -f "$wheels/.complete" ]]; then
  log "filling the wheelhouse ($wheels)"
  rm -rf "$wheels"; mkdir -p "$wheels"
  "$python" -m pip wheel --quiet --disable-pip-version-check --wheel-dir "$wheels" \
    --requirement "$requirements"
  touch "$wheels/.complete"
fi
log "wheelhouse ready: $(ls "$wheels" | grep -c '\.whl$') wheels ($(elapsed))"

# --- the npm cache for the assets stage (GOV.UK Frontend, as locked)
web="$root/services/portal/web"
key="$(cat "$web/package.json" "$web/package-lock.json" | sha256sum | cut -c1-16)"
npm_cache="$cache/npm-$key"
if [[ ! -f "$npm_cache/.complete" ]]; then
  log "filling the npm cache ($npm_cache)"
  rm -rf "$npm_cache"; scratch="$(mktemp -d)"
  cp "$web/package.json" "$web/package-lock.json" "$scratch/"
  (cd "$scratch" && npm ci --cache "$npm_cache" --no-audit --no-fund --loglevel=error >/dev/null)
  rm -rf "$scratch"; touch "$npm_cache/.complete"
fi

# --- 3. the image
log "podman build $tag"
podman build --quiet --isolation chroot --file "$root/deploy/docker/Dockerfile" \
  --build-arg PYTHON_IMAGE=localhost/sen-base-python:bookworm \
  --build-arg NODE_IMAGE=localhost/sen-base-node:bookworm \
  --build-arg "PIP_INSTALL_OPTIONS=--no-index --find-links /wheels" \
  --build-arg "NPM_CI_OPTIONS=--offline --cache /npm-cache" \
  --volume "$wheels:/wheels:ro" --volume "$npm_cache:/npm-cache" \
  --tag "$tag" "$root" >/dev/null
log "built $tag ($(elapsed)): $(podman image inspect --format '{{.Size}}' "$tag") bytes"

# --- 4. its root filesystem (again only when the image changed)
id="$(podman image inspect --format '{{.Id}}' "$tag")"
if [[ "$(cat "$out/image.id" 2>/dev/null)" != "$id" || ! -x "$out/rootfs/opt/sen/bin/senctl" ]]; then
  rm -rf "$out/rootfs" "$out/image.id"; mkdir -p "$out/rootfs"
  ctr="$(podman create "$tag")"
  podman export "$ctr" | tar -x -C "$out/rootfs"
  podman rm "$ctr" >/dev/null
  podman image inspect --format '{{json .Config}}' "$tag" > "$out/image.json"
  podman image inspect --format '{{.Size}}' "$tag" > "$out/image.size"
  echo "$id" > "$out/image.id"
fi
log "root filesystem in $out/rootfs ($(du -sh "$out/rootfs" | cut -f1)) after $(elapsed)"
