#!/usr/bin/env bash
# Start PostgreSQL and Redis on loopback for the test suite and print the URLs to export.
# Used by .ci/run; run it by hand (as root, on Debian) to run the PostgreSQL tests locally:
#   eval "$(scripts/test-services.sh)"
set -euo pipefail

pg_version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
pg_bin=/usr/lib/postgresql/$pg_version/bin
pg_data=${BASTION_TEST_PGDATA:-/tmp/bastion-test-pg}
pg_port=${BASTION_TEST_PGPORT:-55432}
redis_port=${BASTION_TEST_REDISPORT:-56379}

if [ ! -s "$pg_data/PG_VERSION" ]; then
  rm -rf "$pg_data" && mkdir -p "$pg_data" && chown postgres:postgres "$pg_data"
  su postgres -c "$pg_bin/initdb -D $pg_data -A trust -U postgres" >/dev/null
fi
if ! su postgres -c "$pg_bin/pg_ctl -D $pg_data status" >/dev/null 2>&1; then
  mkdir -p /var/run/postgresql && chown postgres:postgres /var/run/postgresql
  su postgres -c "$pg_bin/pg_ctl -D $pg_data -l $pg_data/server.log -w -o '-c listen_addresses=127.0.0.1 -p $pg_port -k /tmp' start" >/dev/null
fi
for _ in $(seq 1 30); do
  "$pg_bin/pg_isready" -h 127.0.0.1 -p "$pg_port" >/dev/null 2>&1 && break
  sleep 1
done
"$pg_bin/pg_isready" -h 127.0.0.1 -p "$pg_port" >/dev/null

if ! redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
  redis-server --port "$redis_port" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no >/dev/null
fi
for _ in $(seq 1 30); do
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  sleep 0.5
done
redis-cli -p "$redis_port" ping >/dev/null

echo "export BASTION_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$pg_port/postgres"
echo "export BASTION_TEST_REDIS_URL=redis://127.0.0.1:$redis_port/0"
