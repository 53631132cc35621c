#!/usr/bin/env bash
# Measures every scale curve of docs/PERFORMANCE.md ("Scale curves") and renders them to PNG:
# revocations, watchers, replicas and keys. Builds what it needs, starts its own servers on
# loopback (and a private PostgreSQL unless SIGNET_TEST_POSTGRES_DSN names one), appends every
# point to one JSON-lines file and draws one picture per curve with scripts/plot_curves.py
# (Debian's python3-matplotlib).
#
#   bench/curves.sh [BUILD_DIR]            # default BUILD_DIR: build
#
# Environment: CURVES (default "revocations watchers replicas keys"), OUT (folder for the points,
# logs and pictures; default a temporary one), PICTURES (where the PNG files go; default $OUT),
# QUICK=1 (small points and short phases: checks the pipeline in a few minutes).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
CURVES=${CURVES:-"revocations watchers replicas keys"}
OUT=${OUT:-$(mktemp -d /tmp/signet-curves.XXXXXX)}
PICTURES=${PICTURES:-$OUT}
mkdir -p "$OUT" "$PICTURES"
POINTS="$OUT/curves.jsonl"

if [[ "${QUICK:-0}" == 1 ]]; then
  REVOKED=0,1000,10000
  WATCHERS=1,10,100
  REPLICAS=1,2
  PHASE=3s
  KEYS=2,10,30
else
  REVOKED=0,1000,10000,100000,1000000
  WATCHERS=1,10,100,1000,5000
  REPLICAS=1,2,3,4,6
  PHASE=20s
  KEYS=2,10,30,100,300,1000
fi

cmake -S "$ROOT" -B "$BUILD" -G Ninja > "$OUT/cmake.log"
cmake --build "$BUILD" -j2 --target signet-server revocation_curve watchers_curve \
  propagation_bench keys_curve > "$OUT/build.log" || { tail -30 "$OUT/build.log"; exit 1; }

PG_DIR=""
cleanup() { [[ -z "$PG_DIR" ]] || bash "$ROOT/scripts/postgres-test-instance.sh" stop "$PG_DIR"; }
trap cleanup EXIT
if [[ -z "${SIGNET_TEST_POSTGRES_DSN:-}" && ( " $CURVES " == *" revocations "* ||
  " $CURVES " == *" replicas "* ) ]]; then
  PG_DIR="$OUT/postgres"
  bash "$ROOT/scripts/postgres-test-instance.sh" start "$PG_DIR" > "$OUT/postgres.log"
  # shellcheck disable=SC1091
  source "$PG_DIR/env"
fi

echo "# signet scale curves $(date -u +%FT%TZ); $(nproc) cores;" \
  "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
# run NAME COMMAND...: runs one benchmark, its output kept in $OUT/NAME.log and shown.
run() {
  local name=$1
  shift
  echo "## $name ($(date -u +%T), load average $(cut -d' ' -f1 /proc/loadavg))"
  "$@" --json_out="$POINTS" 2>&1 | tee "$OUT/$name.log"
}
for curve in $CURVES; do
  case $curve in
    revocations)
      run revocations "$BUILD/bench/revocation_curve" --points="$REVOKED" \
        --stores=sqlite,postgres --kinds=token,subject ;;
    watchers)
      run watchers-shared "$BUILD/bench/watchers_curve" --watchers="$WATCHERS"
      run watchers-own-connection "$BUILD/bench/watchers_curve" --watchers="$WATCHERS" \
        --streams_per_channel=1 ;;
    replicas)
      run replicas "$BUILD/bench/propagation_bench" --replicas="$REPLICAS" \
        --phase_duration="$PHASE" ;;
    keys)
      run keys "$BUILD/bench/keys_curve" --keys="$KEYS" ;;
    *) echo "unknown curve $curve" >&2; exit 1 ;;
  esac
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "points: $POINTS"
/usr/bin/python3 "$ROOT/scripts/plot_curves.py" "$POINTS" --out "$PICTURES" \
  --only keys:server_cpu_us,response_bytes,rss_mib,rotate_key_ms
