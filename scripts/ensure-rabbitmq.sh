#!/usr/bin/env bash
# Make sure the broker the settings name answers, with its management API
# (nameko's test fixtures use it): AMQP_URI (default amqp://guest:guest@127.0.0.1:5672/;
# with several `;`-separated addresses, the first) and RABBIT_API_URI (default
# http://<host>:15672/api). A broker on this machine is used if it runs,
# started if installed, installed from Debian's packages if not; a remote one
# must already answer.
set -euo pipefail

read -r host port api_host api_port < <(python3 - <<'PY'
import os
from urllib.parse import urlsplit
amqp = urlsplit((os.environ.get("AMQP_URI") or "amqp://guest:guest@127.0.0.1:5672/").split(";")[0].strip())
host = amqp.hostname or "127.0.0.1"
api = urlsplit(os.environ.get("RABBIT_API_URI") or f"http://{host}:15672/api")
print(host, amqp.port or 5672, api.hostname or host, api.port or 15672)
PY
)

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
local_host() { [[ "$1" == 127.* || "$1" == localhost || "$1" == ::1 ]]; }

wait_for() {
  for _ in $(seq 1 60); do port_open "$1" "$2" && return 0; sleep 1; done
  echo "RabbitMQ did not open $1:$2 within 60 s" >&2; return 1
}

if ! port_open "$host" "$port"; then
  if ! local_host "$host"; then
    echo "RabbitMQ does not answer on $host:$port (AMQP_URI)." >&2; exit 1
  fi
  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "Installing RabbitMQ from Debian's packages..."
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
    else
      echo "RabbitMQ is not running on $host:$port and is not installed." >&2
      echo "Install it (Debian: sudo apt-get install rabbitmq-server) or set AMQP_URI." >&2
      exit 1
    fi
  fi
  echo "Starting RabbitMQ..."
  if [ "$port" != 5672 ]; then export RABBITMQ_NODE_PORT="$port"; fi
  rabbitmq-server -detached
  wait_for "$host" "$port"
fi

if ! port_open "$api_host" "$api_port"; then
  if ! local_host "$api_host"; then
    echo "RabbitMQ's management API does not answer on $api_host:$api_port (RABBIT_API_URI)." >&2
    exit 1
  fi
  rabbitmq-plugins enable rabbitmq_management >/dev/null
  wait_for "$api_host" "$api_port"
fi
