#!/usr/bin/env bash
# Make sure RabbitMQ answers on 127.0.0.1:5672 with the management plugin
# (nameko's test fixtures use its API on 15672): use it if it runs, start it
# if installed, install it from Debian's packages if not.
set -euo pipefail

port_open() { (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

wait_for() {
  for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 1; done
  echo "RabbitMQ did not open port $1 within 60 s" >&2; return 1
}

if ! port_open 5672; then
  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "Installing RabbitMQ from Debian's packages..."
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
    else
      echo "RabbitMQ is not running on 127.0.0.1:5672 and is not installed." >&2
      echo "Install it (Debian: sudo apt-get install rabbitmq-server) or set AMQP_URI." >&2
      exit 1
    fi
  fi
  echo "Starting RabbitMQ..."
  rabbitmq-server -detached
  wait_for 5672
fi

if ! port_open 15672; then
  rabbitmq-plugins enable rabbitmq_management >/dev/null
  wait_for 15672
fi
