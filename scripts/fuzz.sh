#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan+UBSan) into ${FUZZ_BUILD_DIR:-build-fuzz}
# and runs each for SIGNET_FUZZ_SECONDS (default 60) from its seed corpus in tests/fuzz/corpus.
# Fails on any crash, leak, timeout or out-of-memory; a failing input is kept in
# <build dir>/artifacts/<target>/. Usage: scripts/fuzz.sh [target...]  (default: all).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${FUZZ_BUILD_DIR:-build-fuzz}
seconds=${SIGNET_FUZZ_SECONDS:-60}
all_targets=(token_verify jwk claims policy)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

# Inputs longer than any the service accepts are not worth the time: tokens up to the default
# 8 KiB limit, claims up to the service's 4 KiB (plus the mode byte), JWKs and policies a few KiB.
max_len_of() {
  case "$1" in
    token_verify) echo 9000 ;;
    claims) echo 4200 ;;
    jwk) echo 4096 ;;
    policy) echo 8192 ;;
    *) echo 4096 ;;
  esac
}

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DSIGNET_FUZZ=ON \
  -DSIGNET_BUILD_TESTS=OFF -DSIGNET_BUILD_BENCH=OFF -DSIGNET_BUILD_EXAMPLES=OFF >/dev/null
build_targets=()
for t in "${targets[@]}"; do build_targets+=("${t}_fuzzer"); done
cmake --build "$build_dir" -j"$(nproc)" --target "${build_targets[@]}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
summary=()
for t in "${targets[@]}"; do
  work="$build_dir/corpus/$t"        # New inputs go here, never into the checked-in seeds.
  artifacts="$build_dir/artifacts/$t/"
  log="$build_dir/fuzz-$t.log"
  mkdir -p "$work" "$artifacts"
  echo "fuzz: $t for ${seconds}s (max_len $(max_len_of "$t"))"
  start=$(date +%s)
  rc=0
  "$build_dir/tests/fuzz/${t}_fuzzer" "$work" "tests/fuzz/corpus/$t" \
    -max_total_time="$seconds" -max_len="$(max_len_of "$t")" -timeout=25 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts" -print_final_stats=1 >"$log" 2>&1 || rc=$?
  elapsed=$(($(date +%s) - start))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 || true)
  if [ "$rc" -ne 0 ]; then
    status=1
    echo "fuzz: $t FAILED (exit $rc); the log is $log, the input in $artifacts:"
    grep -E -A25 '^==[0-9]+==ERROR|runtime error|fuzz invariant violated|ALARM|Test unit written' \
      "$log" | head -60 || tail -40 "$log"
    summary+=("$t: FAILED after ${elapsed}s")
  else
    summary+=("$t: ok, ${elapsed}s, ${runs:-?} runs, ${cov:-cov: ?}")
  fi
done
echo "fuzz summary:"
printf '  %s\n' "${summary[@]}"
exit "$status"
