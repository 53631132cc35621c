#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test with ctest. The PostgreSQL tests run against a
# private instance in a temporary folder (scripts/postgres-test-instance.sh), stopped at the end,
# unless SIGNET_TEST_POSTGRES_DSN already names a server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh

pg_dir=""
# shellcheck disable=SC2317  # called by the trap
cleanup() {
  if [ -n "$pg_dir" ]; then
    bash scripts/postgres-test-instance.sh stop "$pg_dir" >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
  fi
}
trap cleanup EXIT
trap "exit 130" INT
trap "exit 143" TERM
if [ -z "${SIGNET_TEST_POSTGRES_DSN:-}" ]; then
  pg_dir=$(mktemp -d "/tmp/signet-pg.XXXXXX")
  bash scripts/postgres-test-instance.sh start "$pg_dir" >/dev/null
  # shellcheck disable=SC1091
  source "$pg_dir/env"
fi

status=0
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 600 || status=$?
exit "$status"
