#!/usr/bin/env bash
# Reproduces the figures of docs/PERFORMANCE.md in one command: builds what it needs, starts
# signet-server instances on 127.0.0.1 (fresh data folders, no HTTP), runs the codec benchmark and
# the signet-bench scenarios, and prints a summary table at the end. Load goes to loopback only.
#
#   bench/run_all.sh [BUILD_DIR]          # default BUILD_DIR: build
#
# Environment: ROUNDS (default 6), DURATION (per run, default 5s), WARMUP (1s),
# ALGORITHMS ("EdDSA ES256 HS256"), TOKENS (distinct tokens, 100000), REVOCATIONS (1000000;
# 0 skips the revocation section), SECTIONS ("codec service half revocations interceptor floor"),
# CACHE_ENTRIES (the servers' --validation_cache_entries, default 131072: 64 MiB, room for the
# 100000 distinct tokens), OUT (folder for the logs, default a temporary one).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
ROUNDS=${ROUNDS:-6}
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-1s}
ALGORITHMS=${ALGORITHMS:-"EdDSA ES256 HS256"}
TOKENS=${TOKENS:-100000}
REVOCATIONS=${REVOCATIONS:-1000000}
CACHE_ENTRIES=${CACHE_ENTRIES:-131072}
SECTIONS=${SECTIONS:-"codec service half revocations interceptor floor"}
OUT=${OUT:-$(mktemp -d /tmp/signet-perf.XXXXXX)}
mkdir -p "$OUT"

SERVER="$BUILD/server/signet-server"
BENCH="$BUILD/bench/signet-bench"
CODEC="$BUILD/bench/codec_bench"
GREETER="$BUILD/examples/greeter_server"

targets=(signet-server signet-bench codec_bench)
if [[ " $SECTIONS " == *" interceptor "* ]]; then targets+=(greeter_server); fi
cmake -S "$ROOT" -B "$BUILD" -G Ninja > "$OUT/cmake.log"
cmake --build "$BUILD" --target "${targets[@]}" -j2 > "$OUT/build.log" ||
  { tail -30 "$OUT/build.log"; exit 1; }

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2> /dev/null || true; done
  wait 2> /dev/null || true
  rm -f "$OUT"/*.audit  # Hundreds of MB of IssueToken records.
}
trap cleanup EXIT

# start_server NAME PORT ALGORITHM [flags...]: starts a server and sets SERVER_STARTED to its pid
# once it answers. (Not in a subshell, so that the cleanup knows the pid.) SERVER_WRAP, when set,
# runs it under that command (the floor section pins it to one core with taskset).
SERVER_WRAP=""
start_server() {
  local name=$1 port=$2 alg=$3
  shift 3
  # gRPC listens with SO_REUSEPORT: a second server on a busy port would share its traffic.
  if (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then
    echo "port $port is already in use: stop whatever listens there first" >&2
    exit 1
  fi
  rm -rf "${OUT:?}/$name"
  $SERVER_WRAP "$SERVER" --listen="127.0.0.1:$port" --http_listen= --data_dir="$OUT/$name" \
    --algorithm="$alg" --audit_log="$OUT/$name.audit" \
    --validation_cache_entries="$CACHE_ENTRIES" "$@" > "$OUT/$name.log" 2>&1 &
  SERVER_STARTED=$!
  PIDS+=("$SERVER_STARTED")
  for _ in $(seq 100); do
    grep -q server_started "$OUT/$name.log" 2> /dev/null && return
    sleep 0.1
  done
  echo "signet-server $name did not start; see $OUT/$name.log" >&2
  exit 1
}

# bench LOG [flags...]: runs signet-bench (under BENCH_WRAP when set), keeps its output, echoes
# its RESULT lines.
BENCH_WRAP=""
bench() {
  local log=$1
  shift
  $BENCH_WRAP "$BENCH" --duration="$DURATION" --warmup="$WARMUP" --rounds="$ROUNDS" "$@" \
    > "$OUT/$log.log" 2>&1 ||
    { tail -20 "$OUT/$log.log"; exit 1; }
  grep '^RESULT' "$OUT/$log.log" | sed "s/^RESULT/RESULT log=$log/"
}

# field LINE KEY: the value of key=value in a RESULT line.
field() { tr ' ' '\n' <<< "$1" | sed -n "s/^$2=//p" | head -1; }

# ratio LINE: the median QPS ratio of a compare RESULT line and its [min..max].
ratio() { echo "$(field "$1" qps_ratio_median) [$(field "$1" qps_ratio_min)..$(field "$1" qps_ratio_max)]"; }
SUMMARY=()
row() { SUMMARY+=("$(printf '%-58s %s' "$1" "$2")"); }

echo "# signet performance run $(date -u +%FT%TZ)"
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(uname -r)," \
  "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "logs: $OUT"

if [[ " $SECTIONS " == *" codec "* ]]; then
  echo "## codec"
  "$CODEC" --benchmark_min_time=0.5 --benchmark_repetitions=5 > "$OUT/codec.log" 2>&1
  grep -E '^ratio|^token bytes' "$OUT/codec.log"
  while read -r line; do row "codec: ${line%%:*}" "${line#*: }"; done \
    < <(grep '^ratio' "$OUT/codec.log" | sed 's/^ratio //; s/ \[.*//')
fi

port=50300
declare -A SERVER_PID SERVER_PORT
for alg in $ALGORITHMS; do
  port=$((port + 1))
  SERVER_PORT[$alg]=$port
  start_server "server-$alg" "$port" "$alg"
  SERVER_PID[$alg]=$SERVER_STARTED
done

if [[ " $SECTIONS " == *" service "* ]]; then
  for alg in $ALGORITHMS; do
    echo "## service, $alg"
    t=(--target="127.0.0.1:${SERVER_PORT[$alg]}" --server_pid="${SERVER_PID[$alg]}"
       --algorithm="$alg" --tokens="$TOKENS")
    r=$(bench "$alg-hot-vs-health" "${t[@]}" --compare=validate_hot,health)
    echo "$r"
    row "$alg ValidateToken warm (1 token) / Health QPS" \
      "$(ratio "$r") (target >= 0.85); server CPU/call $(field "$r" cpu_us_a) vs $(field "$r" cpu_us_b) us"
    r=$(bench "$alg-distinct-vs-health" "${t[@]}" --compare=validate_distinct,health)
    echo "$r"
    row "$alg ValidateToken $TOKENS tokens / Health QPS" \
      "$(ratio "$r"); server CPU/call $(field "$r" cpu_us_a) us"
    r=$(bench "$alg-unique-vs-codec" "${t[@]}" --compare=validate_unique,codec_bound)
    echo "$r"
    row "$alg ValidateToken no cache hit / verify bound (2 cores)" \
      "$(ratio "$r") (target >= 0.8); QPS $(field "$r" qps_a) vs bound $(field "$r" qps_b)/s; server CPU/call $(field "$r" cpu_us_a) us"
    r=$(bench "$alg-issue-vs-sign" "${t[@]}" --compare=issue,sign_bound)
    echo "$r"
    row "$alg IssueToken / signing bound (2 cores)" \
      "$(ratio "$r") (target >= 0.8); QPS $(field "$r" qps_a) vs bound $(field "$r" qps_b)/s; server CPU/call $(field "$r" cpu_us_a) us"
    r=$(bench "$alg-mix-vs-health" "${t[@]}" --compare=mix,health)
    echo "$r"
    row "$alg 95/5 validate/issue mix / Health QPS" \
      "$(ratio "$r"); p99 $(field "$r" p99_us_a) us"
    r=$(bench "$alg-storm-vs-distinct" "${t[@]}" --compare=storm,validate_distinct)
    echo "$r"
    row "$alg ValidateToken during revocation storm / without" \
      "$(ratio "$r"); p99 $(field "$r" p99_us_a) vs $(field "$r" p99_us_b) us"
  done
fi

# half_row LABEL LOG ALGORITHM SCENARIO [TARGET_NOTE]: p99 at a quarter and half of the maximum
# QPS (open loop) on that algorithm's server; adds the half-load row to the summary.
half_row() {
  local label=$1 log=$2 alg=$3 scenario=$4 note=${5:-}
  local r half
  r=$(bench "$log" --target="127.0.0.1:${SERVER_PORT[$alg]}" --server_pid="${SERVER_PID[$alg]}" \
    --scenario="$scenario" --tokens="$TOKENS" --mode=half --load_fractions=0.25,0.5)
  echo "$r"
  half=$(grep 'fraction=0.5 ' <<< "$r")
  row "$label p99 at half max QPS (open loop)" \
    "$(field "$half" p99_us_median) us [$(field "$half" p99_us_min)..$(field "$half" p99_us_max)]$note; max QPS $(field "$half" max_qps_median)"
}
if [[ " $SECTIONS " == *" half "* ]]; then
  # The floor first: gRPC's Health/Check under the same open-loop measurement.
  echo "## p99 at half load, Health/Check (the floor)"
  half_row "Health/Check (the floor)" health-half "${ALGORITHMS%% *}" health
  for alg in $ALGORITHMS; do
    echo "## p99 at half load, $alg"
    half_row "$alg ValidateToken" "$alg-half" "$alg" validate_distinct " (target < 2000)"
  done
fi

if [[ " $SECTIONS " == *" revocations "* && "$REVOCATIONS" != 0 ]]; then
  echo "## $REVOCATIONS revoked token ids"
  r=$(bench revocation-memory --scenario=revocation_memory --count="$REVOCATIONS")
  echo "$r"
  row "RevocationSet of $REVOCATIONS ids (in process)" \
    "+$(field "$r" set_rss_mib) MiB; lookup $(field "$r" lookup_full_ns) ns vs $(field "$r" lookup_empty_ns) ns empty"
  start_server revoked-none 50311 EdDSA
  empty_pid=$SERVER_STARTED
  start_server revoked-many 50312 EdDSA
  full_pid=$SERVER_STARTED
  r=$(bench revoke-load --target=127.0.0.1:50312 --server_pid="$full_pid" --scenario=revoke_load \
    --count="$REVOCATIONS" --concurrency=32 --channels=2)
  echo "$r"
  before=$(field "$r" rss_before_mib)
  after=$(field "$r" rss_after_mib)
  row "server RSS after $REVOCATIONS RevokeToken" \
    "$before -> $after MiB (+$(awk -v a="$after" -v b="$before" 'BEGIN{printf "%.1f", a-b}') MiB; target < 100)"
  r=$(bench revoked-vs-none --target=127.0.0.1:50312 --server_pid="$full_pid" \
    --target_b=127.0.0.1:50311 --server_pid_b="$empty_pid" --compare=validate_hot,validate_hot)
  echo "$r"
  row "ValidateToken with $REVOCATIONS revoked / none" \
    "QPS $(ratio "$r"), p50 x$(field "$r" p50_ratio_median), server CPU/call $(field "$r" cpu_us_a) vs $(field "$r" cpu_us_b) us (target: within 10%)"
  r=$(bench revoked-unique-vs-none --target=127.0.0.1:50312 --server_pid="$full_pid" \
    --target_b=127.0.0.1:50311 --server_pid_b="$empty_pid" --tokens=50000 \
    --compare=validate_unique,validate_unique)
  echo "$r"
  row "ValidateToken (no cache hit) with $REVOCATIONS revoked / none" \
    "QPS $(ratio "$r"), server CPU/call $(field "$r" cpu_us_a) vs $(field "$r" cpu_us_b) us"
fi

if [[ " $SECTIONS " == *" interceptor "* ]]; then
  if [[ -x "$GREETER" ]]; then
    echo "## interceptor (example greeter, local validation of EdDSA tokens)"
    start_server greeter-issuer 50320 EdDSA
    "$GREETER" --signet_target=127.0.0.1:50320 --listen=127.0.0.1:50321 --audience=greeter \
      > "$OUT/greeter.log" 2>&1 &
    greeter_pid=$!
    PIDS+=("$greeter_pid")
    for _ in $(seq 100); do
      grep -q listening "$OUT/greeter.log" 2> /dev/null && break
      sleep 0.1
    done
    r=$(bench greeter --target=127.0.0.1:50321 --server_pid="$greeter_pid" \
      --issuer_target=127.0.0.1:50320 --audience=greeter \
      --compare=greeter_hello_token,greeter_hello_anonymous)
    echo "$r"
    row "greeter SayHello with token / without (server CPU)" \
      "+$(awk -v a="$(field "$r" cpu_us_a)" -v b="$(field "$r" cpu_us_b)" 'BEGIN{printf "%.1f", a-b}') us/call (target < 5); QPS ratio $(field "$r" qps_ratio_median)"
  else
    row "interceptor" "not measured: $GREETER was not built"
  fi
fi

if [[ " $SECTIONS " == *" floor "* ]]; then
  # Cost above the floor, on one pinned core: the server on core 0, the load generator on core 1,
  # the in-process crypto calls on core 0. Each server CPU figure comes from the same alternated
  # run as the Health/Check figure it is compared with.
  if (($(nproc) < 2)); then
    row "floor" "not measured: needs 2 cores (server and load generator pinned apart)"
  else
    echo "## cost above the floor (server pinned to core 0, load generator to core 1)"
    taskset -c 0 "$CODEC" --benchmark_min_time=0.5 --benchmark_repetitions=3 \
      --benchmark_filter='^(sign|verify)/(EdDSA|ES256)/raw_(libsodium|openssl)$' \
      > "$OUT/floor-raw.log" 2>&1
    # raw_us NAME: the lowest CPU time of that benchmark, in microseconds.
    raw_us() {
      awk -v n="$1" '/^lowest CPU time/ { s = 1; next } s && index($1, n) == 1 {
        printf "%.2f", $2 / 1000; exit }' "$OUT/floor-raw.log"
    }
    # cpu_us LINE: server CPU microseconds per call of a single run's RESULT line.
    cpu_us() { awk -v c="$(field "$1" server_cpu_s_per_1k)" 'BEGIN { printf "%.2f", c * 1000 }'; }
    # over A B C: A / (B + C), two decimals.
    over() { awk -v a="$1" -v b="$2" -v c="$3" 'BEGIN { printf "%.2f", a / (b + c) }'; }
    port=50340
    for alg in EdDSA ES256; do
      [[ " $ALGORITHMS " == *" $alg "* ]] || continue
      case $alg in
        EdDSA) verify=$(raw_us verify/EdDSA/raw_libsodium) sign=$(raw_us sign/EdDSA/raw_libsodium) ;;
        ES256) verify=$(raw_us verify/ES256/raw_openssl) sign=$(raw_us sign/ES256/raw_openssl) ;;
      esac
      port=$((port + 1))
      SERVER_WRAP="taskset -c 0"
      start_server "floor-$alg" "$port" "$alg"
      SERVER_WRAP=""
      BENCH_WRAP="taskset -c 1"
      t=(--target="127.0.0.1:$port" --server_pid="$SERVER_STARTED" --algorithm="$alg"
         --tokens="$TOKENS")
      # Per scenario: its server CPU per call against Health/Check's plus the raw crypto call.
      for what in "validate_unique ValidateToken verify $verify" "issue IssueToken sign $sign"; do
        read -r scenario rpc call crypto <<< "$what"
        r=$(bench "floor-$alg-$scenario" "${t[@]}" --compare="$scenario,health")
        echo "$r"
        row "$alg $rpc CPU / (Health CPU + raw $call), 1 core" \
          "$(over "$(field "$r" cpu_us_a)" "$(field "$r" cpu_us_b)" "$crypto") (target <= 1.15): $(field "$r" cpu_us_a) / ($(field "$r" cpu_us_b) + $crypto) us"
        # Where the server's time goes in this scenario: perf samples by library, over one more
        # run of it (skipped without perf or without permission to profile).
        if command -v perf > /dev/null; then
          perf record -q -F 999 -p "$SERVER_STARTED" -o "$OUT/floor-$alg-$scenario.perf" \
            -- sleep "${DURATION%s}" > /dev/null 2>&1 &
          perf_pid=$!
          bench "floor-$alg-$scenario-profiled" "${t[@]}" --scenario="$scenario" --warmup=0s \
            > /dev/null
          if wait "$perf_pid"; then
            split=$(perf report -q -i "$OUT/floor-$alg-$scenario.perf" --no-children --sort dso \
              2> /dev/null | awk '{ sub(/%/, "", $1); d = $2
                if (d ~ /kernel/) k += $1; else if (d ~ /sodium|libcrypto/) c += $1
                else if (d ~ /grpc|gpr|protobuf|absl|ld-linux|vdso/) g += $1
                else if (d ~ /signet/) s += $1
                else if (d ~ /libc|stdc/) l += $1; else o += $1 }
                END { printf "kernel %.0f%%, gRPC+protobuf+abseil %.0f%%, crypto %.0f%%, signet %.0f%%, libc+libstdc++ %.0f%%, other %.0f%%", k, g, c, s, l, o }')
            row "$alg   $rpc: server CPU by library (perf)" "$split"
          fi
        fi
      done
      r=$(bench "floor-$alg-health-max" "${t[@]}" --scenario=health)
      rate=$(awk -v q="$(field "$r" qps)" 'BEGIN { printf "%.0f", q / 2 }')
      # The cache holds every one of the distinct tokens first (each is validated once at least),
      # so that the tail measured is that of a warm server, not of its first pass.
      bench "floor-$alg-warm" "${t[@]}" --scenario=validate_distinct --rounds=1 \
        --duration="$(((TOKENS + 9999) / 10000 * 2))s" > /dev/null
      for scenario in validate_hot validate_distinct; do
        r=$(bench floor-$alg-$scenario-tail "${t[@]}" --compare="$scenario,health" --mode=open --rate="$rate")
        echo "$r"
        row "$alg $scenario p99 / Health p99, open loop at $rate/s (half of Health max)" \
          "$(field "$r" p99_ratio_median) (target <= 1.25): $(field "$r" p99_us_a) vs $(field "$r" p99_us_b) us"
      done
      BENCH_WRAP=""
    done
  fi
fi

echo
echo "## summary (medians over $ROUNDS rounds; [min..max] of the per-round ratios)"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%s\n' "${SUMMARY[@]}"
