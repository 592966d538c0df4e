#!/usr/bin/env bash
# Start PostgreSQL and Redis on loopback for the test suite, find or start RabbitMQ, and print the URLs to export.
# Used by .ci/run; run it by hand (as root, on Debian) to run the PostgreSQL tests locally:
#   eval "$(scripts/test-services.sh)"
set -euo pipefail

pg_version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
pg_bin=/usr/lib/postgresql/$pg_version/bin
pg_data=${BASTION_TEST_PGDATA:-/tmp/bastion-test-pg}
pg_port=${BASTION_TEST_PGPORT:-55432}
redis_port=${BASTION_TEST_REDISPORT:-56379}
amqp_port=${BASTION_TEST_AMQPPORT:-5672}
rabbit_base=${BASTION_TEST_RABBITDIR:-/tmp/bastion-test-rabbit}

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

# RabbitMQ: use the one already answering on $amqp_port (CI and development machines run one);
# otherwise start our own node there (the rabbitmq-server Debian package), in its own directory.
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if ! answers "$amqp_port"; then
  mkdir -p "$rabbit_base/mnesia" "$rabbit_base/log"
  echo "[]." > "$rabbit_base/enabled_plugins"
  printf 'listeners.tcp.local = 127.0.0.1:%s\n' "$amqp_port" > "$rabbit_base/rabbitmq.conf"
  chown -R rabbitmq:rabbitmq "$rabbit_base" 2>/dev/null || true
  RABBITMQ_NODENAME="bastion-test-$amqp_port@localhost" RABBITMQ_NODE_PORT="$amqp_port" \
    RABBITMQ_DIST_PORT=$((amqp_port + 20000)) RABBITMQ_MNESIA_BASE="$rabbit_base/mnesia" \
    RABBITMQ_LOG_BASE="$rabbit_base/log" RABBITMQ_ENABLED_PLUGINS_FILE="$rabbit_base/enabled_plugins" \
    RABBITMQ_CONFIG_FILE="$rabbit_base/rabbitmq.conf" \
    setsid rabbitmq-server >"$rabbit_base/server.out" 2>&1 < /dev/null &
fi
for _ in $(seq 1 120); do
  answers "$amqp_port" && break
  sleep 0.5
done
answers "$amqp_port" || { echo "RabbitMQ did not start on $amqp_port; see $rabbit_base/log" >&2; exit 1; }

echo "export BASTION_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$pg_port/postgres"
echo "export BASTION_TEST_REDIS_URL=redis://127.0.0.1:$redis_port/0"
echo "export BASTION_TEST_AMQP_URL=amqp://guest:guest@127.0.0.1:$amqp_port//"
