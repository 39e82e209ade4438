#!/usr/bin/env bash
# Start the local PostgreSQL, Redis and RabbitMQ used by the integration tests, where they are
# not running already. Installs them from Debian's packages when they are missing.
set -uo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
  for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 1; done
  echo "service on port $1 did not come up" >&2; return 1
}
ensure_pkg() {
  command -v "$1" >/dev/null 2>&1 && return 0
  [ -x "$1" ] && return 0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >&2
}

status=0
if ! port_open 5432; then
  ls /etc/postgresql >/dev/null 2>&1 || { apt-get update -qq; ensure_pkg psql postgresql; }
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  wait_port 5432 || status=1
fi
if ! port_open 6379; then
  ensure_pkg redis-server redis-server
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  wait_port 6379 || status=1
fi
if ! port_open 5672; then
  ensure_pkg rabbitmq-server rabbitmq-server
  rabbitmq-server -detached || true
  wait_port 5672 || status=1
fi
exit $status
