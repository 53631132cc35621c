#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test with ctest; then the reliability phases: the
# whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan), the
# concurrent parts under ThreadSanitizer (build-tsan), and each libFuzzer target for
# SIGNET_FUZZ_SECONDS (default 60; scripts/fuzz.sh, build-fuzz); last, the container image built
# and the Kubernetes overlays run in podman (scripts/container-test.sh; as root only). CI runs
# them all; developers may skip them with SIGNET_SKIP_ASAN=1, SIGNET_SKIP_TSAN=1,
# SIGNET_SKIP_FUZZ=1, SIGNET_SKIP_CONTAINER=1, or the three sanitizer phases with
# SIGNET_SKIP_SANITIZERS=1 (docs/RELIABILITY.md has the time each takes). Every phase runs even
# when an earlier one failed; the script fails if any did, and ends with a table of phases,
# results and durations.
#
# The PostgreSQL tests run against a private instance in a temporary folder
# (scripts/postgres-test-instance.sh), stopped at the end, unless SIGNET_TEST_POSTGRES_DSN already
# names a server.
set -euo pipefail
cd "$(dirname "$0")/.."

# The ThreadSanitizer phase builds only these test binaries and runs their tests (ctest -L selects
# by binary: signet_test() labels each test with its binary's name): the key ring's snapshot swap
# and WatchKeys fan-out (token_service_test, concurrency_test), the validators' caches
# (client_test), the stores under concurrent writers and notifications (signet_store_test,
# signet_postgres_store_test), the codec on many threads (token_test) and the PKCS#11 session
# pool (pkcs11_token_test). SIGNET_TSAN_TEST_REGEX narrows further (ctest -R).
read -r -a TSAN_TARGETS <<<"${SIGNET_TSAN_TARGETS:-token_test signet_store_test signet_postgres_store_test client_test token_service_test concurrency_test pkcs11_token_test}"
tsan_labels="^($(IFS='|'; echo "${TSAN_TARGETS[*]}"))\$"

jobs=$(nproc)
skip_all=${SIGNET_SKIP_SANITIZERS:-0}
# ccache keys on relative paths below the checkout, so clones in other folders share hits.
export CCACHE_BASEDIR="$PWD"
phase_names=()
phase_results=()
phase_seconds=()
status=0
phase_start=0

begin_phase() {
  echo
  echo "=== test.sh: $1 ==="
  phase_start=$(date +%s)
}
# end_phase NAME RC
end_phase() {
  local elapsed=$(($(date +%s) - phase_start))
  phase_names+=("$1")
  phase_seconds+=("$elapsed")
  if [ "$2" -eq 0 ]; then
    phase_results+=("ok")
  else
    phase_results+=("FAILED ($2)")
    status=1
  fi
}
skip_phase() {
  phase_names+=("$1")
  phase_seconds+=(0)
  phase_results+=("skipped")
}
print_summary() {
  echo
  echo "=== test.sh summary ==="
  local i
  for i in "${!phase_names[@]}"; do
    printf '  %-28s %-12s %5ss\n' "${phase_names[$i]}" "${phase_results[$i]}" \
      "${phase_seconds[$i]}"
  done
}

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

begin_phase "dependencies"
rc=0
bash scripts/install-deps.sh || rc=$?
end_phase "dependencies" "$rc"
[ "$rc" -eq 0 ] || { print_summary; exit 1; }

begin_phase "build"
rc=0
bash scripts/build.sh || rc=$?
end_phase "build" "$rc"
[ "$rc" -eq 0 ] || { print_summary; exit 1; }

if [ -z "${SIGNET_TEST_POSTGRES_DSN:-}" ]; then
  begin_phase "postgres start"
  rc=0
  pg_dir=$(mktemp -d "/tmp/signet-pg.XXXXXX")
  bash scripts/postgres-test-instance.sh start "$pg_dir" >/dev/null || rc=$?
  end_phase "postgres start" "$rc"
  # shellcheck disable=SC1091
  [ "$rc" -ne 0 ] || source "$pg_dir/env"
fi

begin_phase "tests"
rc=0
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 600 || rc=$?
end_phase "tests" "$rc"

# ASan + UBSan: the whole suite. Leaks fail a test; UBSan findings abort (-fno-sanitize-recover).
if [ "$skip_all" = 1 ] || [ "${SIGNET_SKIP_ASAN:-0}" = 1 ]; then
  skip_phase "asan+ubsan build"
  skip_phase "asan+ubsan tests"
else
  begin_phase "asan+ubsan build"
  rc=0
  # Examples stay on: the interceptor tests run the example greeter service. -O1 and line tables
  # only (-g1): what ASan's reports need, and a third less compile time than -O2 -g.
  BUILD_DIR=build-asan bash scripts/build.sh -DSIGNET_SANITIZE=address -DSIGNET_BUILD_BENCH=OFF \
    -DSIGNET_BUILD_EXAMPLES=ON -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" || rc=$?
  end_phase "asan+ubsan build" "$rc"
  begin_phase "asan+ubsan tests"
  if [ "$rc" -eq 0 ]; then
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_init_order=1} \
      UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
      ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 900 || rc=$?
  fi
  end_phase "asan+ubsan tests" "$rc"
fi

# TSan: the concurrency-heavy binaries. tests/tsan.supp lists library-internal reports only.
if [ "$skip_all" = 1 ] || [ "${SIGNET_SKIP_TSAN:-0}" = 1 ]; then
  skip_phase "tsan build"
  skip_phase "tsan tests"
else
  begin_phase "tsan build"
  rc=0
  # clang: GCC 12's TSan crashes inside protobuf's Map with Debian's libprotobuf, and clang takes
  # tests/tsan_ignorelist.txt. tests/tsan_absl_sync.cc makes absl::Mutex visible to TSan.
  {
    cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
      -DCMAKE_CXX_COMPILER=clang++ -DSIGNET_SANITIZE=thread -DSIGNET_BUILD_BENCH=OFF \
      -DSIGNET_BUILD_EXAMPLES=OFF >/dev/null &&
      cmake --build build-tsan -j"$jobs" --target "${TSAN_TARGETS[@]}"
  } || rc=$?
  end_phase "tsan build" "$rc"
  begin_phase "tsan tests"
  if [ "$rc" -eq 0 ]; then
    tsan_filter=()
    [ -z "${SIGNET_TSAN_TEST_REGEX:-}" ] || tsan_filter=(-R "$SIGNET_TSAN_TEST_REGEX")
    TSAN_OPTIONS=${TSAN_OPTIONS:-suppressions=$PWD/tests/tsan.supp:ignore_noninstrumented_modules=1:halt_on_error=1:second_deadlock_stack=1} \
      ctest --test-dir build-tsan --output-on-failure -j"$jobs" --timeout 900 \
      -L "$tsan_labels" "${tsan_filter[@]}" || rc=$?
  fi
  end_phase "tsan tests" "$rc"
fi

if [ "$skip_all" = 1 ] || [ "${SIGNET_SKIP_FUZZ:-0}" = 1 ]; then
  skip_phase "fuzz"
else
  begin_phase "fuzz (${SIGNET_FUZZ_SECONDS:-60}s per target)"
  rc=0
  bash scripts/fuzz.sh || rc=$?
  end_phase "fuzz" "$rc"
fi

# The image and the overlays in podman: rootful podman (pods reached at their own addresses).
if [ "${SIGNET_SKIP_CONTAINER:-0}" = 1 ]; then
  skip_phase "container (podman)"
elif [ "$(id -u)" -ne 0 ]; then
  echo "test.sh: the container phase needs root (rootful podman); skipped"
  skip_phase "container (podman)"
else
  begin_phase "container (podman)"
  rc=0
  bash scripts/container-test.sh build || rc=$?
  end_phase "container (podman)" "$rc"
fi

print_summary
exit "$status"
