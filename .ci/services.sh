#!/usr/bin/env bash
# Start PostgreSQL and Redis on loopback for the gateway's backend tests (idempotent).
# Needs the Debian packages postgresql and redis-server. Prints the variables the tests read.
set -euo pipefail

PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PGDATA=${RAMPART_PGDATA:-/tmp/rampart-pg}
PGPORT=${RAMPART_PGPORT:-55432}
REDISPORT=${RAMPART_REDISPORT:-56379}

as_pg() {
  # PostgreSQL refuses to run as root.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if ! "$PGBIN/pg_isready" -h 127.0.0.1 -p "$PGPORT" -q; then
  rm -rf "$PGDATA"
  mkdir -p "$PGDATA"
  [ "$(id -u)" = 0 ] && chown postgres "$PGDATA"
  pw=$(mktemp)
  echo rampart > "$pw"
  chmod 644 "$pw"
  as_pg "$PGBIN/initdb" -D "$PGDATA" -U rampart --pwfile="$pw" -A scram-sha-256 >/dev/null
  rm -f "$pw"
  as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w start \
    -o "-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300" >/dev/null
fi

if ! redis-cli -p "$REDISPORT" ping >/dev/null 2>&1; then
  redis-server --port "$REDISPORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes >/dev/null
  for _ in $(seq 50); do redis-cli -p "$REDISPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

echo "export RAMPART_TEST_POSTGRES='host=127.0.0.1 port=$PGPORT user=rampart password=rampart'"
echo "export RAMPART_TEST_REDIS='redis://127.0.0.1:$REDISPORT/'"
