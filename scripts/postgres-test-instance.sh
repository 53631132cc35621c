#!/usr/bin/env bash
# A private, throwaway PostgreSQL instance for the tests.
#
#   scripts/postgres-test-instance.sh start DIR   # initdb (first time) and start; prints the env
#   scripts/postgres-test-instance.sh status DIR  # exit 0 and print the env when running, else 3
#   scripts/postgres-test-instance.sh stop DIR    # stop (no-op when not running)
#
# The cluster lives in DIR/data and listens on a Unix socket in DIR and on 127.0.0.1 at a free
# port, with trust authentication (never expose it) and fsync off (data is disposable). It has a
# database signet_test. `start` writes DIR/env, which the tests read through
#   source DIR/env   # export SIGNET_TEST_POSTGRES_DSN='host=DIR port=... dbname=signet_test ...'
# When run as root the server runs as the `postgres` system user (Debian's postgresql package),
# which then owns DIR. Every subcommand is idempotent.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
DB_NAME=signet_test

usage() {
  echo "usage: $0 start|stop|status DIR" >&2
  exit 2
}

[ $# -eq 2 ] || usage
cmd=$1
[ -n "$2" ] || usage
mkdir -p "$2"
dir=$(cd "$2" && pwd)
data=$dir/data

if [ "$(id -u)" -eq 0 ]; then
  run_user=postgres
  if ! id "$run_user" >/dev/null 2>&1; then
    echo "postgres-test-instance: running as root needs the 'postgres' system user" \
      "(apt-get install postgresql)" >&2
    exit 1
  fi
  as_user() { runuser -u "$run_user" -- "$@"; }
else
  run_user=$(id -un)
  as_user() { "$@"; }
fi

running() {
  [ -f "$data/PG_VERSION" ] && as_user "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1
}

write_env() {
  local port
  port=$(cat "$dir/port")
  {
    echo "export SIGNET_TEST_POSTGRES_DSN='host=$dir port=$port dbname=$DB_NAME user=$run_user'"
    echo "export SIGNET_TEST_POSTGRES_TCP_DSN='host=127.0.0.1 port=$port dbname=$DB_NAME user=$run_user'"
  } >"$dir/env"
  cat "$dir/env"
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A port nothing listens on now (the start below retries if another process takes it first).
free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    if ! port_in_use "$port"; then
      echo "$port"
      return 0
    fi
  done
  echo "postgres-test-instance: no free port found" >&2
  return 1
}

start() {
  if running; then
    write_env
    return 0
  fi
  # A Unix socket path is limited to 107 bytes.
  if [ $((${#dir} + 20)) -gt 107 ]; then
    echo "postgres-test-instance: $dir is too long for a Unix socket path; use a shorter DIR" >&2
    exit 1
  fi
  if [ "$(id -u)" -eq 0 ]; then
    chown "$run_user": "$dir"
    if ! runuser -u "$run_user" -- test -w "$dir"; then
      echo "postgres-test-instance: user $run_user cannot reach $dir (check the parent folders'" \
        "permissions)" >&2
      exit 1
    fi
  fi
  # Others may reach the socket in DIR; the data folder itself stays 0700.
  chmod 0755 "$dir"
  if [ ! -f "$data/PG_VERSION" ]; then
    rm -rf "$data"
    as_user "$PG_BIN/initdb" -D "$data" -U "$run_user" --auth=trust -E UTF8 --locale=C \
      --no-sync --no-instructions >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2
      exit 1
    }
  fi
  local port started=0
  local server_options="-c listen_addresses=127.0.0.1 -k '$dir' -c fsync=off"
  server_options+=" -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
  for attempt in 1 2 3 4 5; do
    # Keep the port of an earlier start so that an exported DSN stays valid.
    if [ "$attempt" -eq 1 ] && [ -f "$dir/port" ] && ! port_in_use "$(cat "$dir/port")"; then
      port=$(cat "$dir/port")
    else
      port=$(free_port)
    fi
    if as_user "$PG_BIN/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 \
      -o "$server_options -p $port" start >/dev/null; then
      started=1
      break
    fi
  done
  if [ "$started" -ne 1 ]; then
    echo "postgres-test-instance: the server did not start; see $dir/postgres.log" >&2
    tail -n 20 "$dir/postgres.log" >&2 || true
    exit 1
  fi
  echo "$port" >"$dir/port"
  if [ "$(as_user "$PG_BIN/psql" -h "$dir" -p "$port" -U "$run_user" -d postgres -Atqc \
    "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != 1 ]; then
    as_user "$PG_BIN/createdb" -h "$dir" -p "$port" -U "$run_user" "$DB_NAME"
  fi
  write_env
}

stop() {
  if running; then
    as_user "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
  fi
}

status() {
  if running && [ -f "$dir/env" ]; then
    cat "$dir/env"
    return 0
  fi
  echo "postgres-test-instance: not running in $dir" >&2
  return 3
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) usage ;;
esac
