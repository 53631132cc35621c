#!/usr/bin/env bash
# Soak test (not in CI): starts signet-server on a fresh SQLite data folder, drives mixed traffic
# at it with bench/soak_driver for SOAK_DURATION, sampling latency and the server's RSS, threads
# and open files every SOAK_INTERVAL into a CSV, then prints the samples as a table.
#
#   bench/soak.sh                                  # 10 minutes at 1000 calls/s
#   SOAK_DURATION=1h SOAK_RATE=2000 bench/soak.sh  # longer, harder
#
# Settings (environment): SOAK_DURATION (10m), SOAK_INTERVAL (30s), SOAK_RATE (1000 calls/s),
# SOAK_THREADS (8), SOAK_CSV (build-soak/soak-<date>.csv), BUILD_DIR (build-soak; built with
# scripts/build.sh if its binaries are missing).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build-soak}
duration=${SOAK_DURATION:-10m}
interval=${SOAK_INTERVAL:-30s}
rate=${SOAK_RATE:-1000}
threads=${SOAK_THREADS:-8}
csv=${SOAK_CSV:-$build_dir/soak-$(date +%Y%m%d-%H%M%S).csv}

if [ ! -x "$build_dir/server/signet-server" ] || [ ! -x "$build_dir/bench/soak_driver" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIGNET_BUILD_TESTS=OFF \
    -DSIGNET_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build "$build_dir" -j"$(nproc)" --target signet-server soak_driver
fi

work=$(mktemp -d /tmp/signet-soak.XXXXXX)
server_pid=""
# shellcheck disable=SC2317  # called by the trap
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$build_dir/server/signet-server" --listen=127.0.0.1:0 --http_listen= --data_dir="$work/data" \
  --audit_log=/dev/null 2>"$work/server.log" &
server_pid=$!
port=""
for _ in $(seq 1 300); do
  port=$(grep -o '"event":"server_started"[^}]*"port":[0-9]*' "$work/server.log" 2>/dev/null |
    grep -o '"port":[0-9]*' | tail -1 | cut -d: -f2 || true)
  [ -n "$port" ] && break
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "soak: signet-server did not start:" >&2
  cat "$work/server.log" >&2
  exit 1
fi

echo "soak: signet-server pid $server_pid on port $port; $duration at $rate calls/s, samples every $interval -> $csv"
mkdir -p "$(dirname "$csv")"
"$build_dir/bench/soak_driver" --target="127.0.0.1:$port" --server_pid="$server_pid" \
  --duration="$duration" --interval="$interval" --rate="$rate" --threads="$threads" --csv="$csv"

if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "soak: signet-server died during the run:" >&2
  tail -20 "$work/server.log" >&2
  exit 1
fi
column -s, -t <"$csv" 2>/dev/null || cat "$csv"
