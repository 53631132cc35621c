#!/usr/bin/env bash
# hs256_vs_fast_jwt.sh [BUILD_DIR]: HS256 verification by signet's token library against fast-jwt
# (the fastest JavaScript JWT library measured, its cache off), both on one thread, on the same
# token and secret, in one run. Prints the ratio of rates; the target is >= 3.
#
# codec_bench writes its HS256 fixture (SIGNET_BENCH_HS256_FIXTURE) and measures
# verify/HS256/codec (a full TokenVerifier::Verify: signature, times, issuer, audience, key state,
# revocations); bench/js/fast_jwt_verify.mjs verifies the same token with the same checks. fast-jwt
# is pinned by bench/js/package-lock.json and installed with `npm ci` into a temporary folder.
# SECONDS_PER_SIDE (default 3) is the measuring time of each side.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
seconds=${SECONDS_PER_SIDE:-3}
work=$(mktemp -d /tmp/signet-hs256-js.XXXXXX)
trap 'rm -rf "$work"' EXIT

cmake --build "$build" --target codec_bench >/dev/null
cp bench/js/package.json bench/js/package-lock.json bench/js/fast_jwt_verify.mjs "$work/"
(cd "$work" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

codec_out=$(SIGNET_BENCH_HS256_FIXTURE="$work/fixture.json" taskset -c 0 \
  "$build/bench/codec_bench" --benchmark_filter='^verify/HS256/codec$' \
  --benchmark_min_time="$seconds" 2>/dev/null)
codec_ns=$(awk '$1 == "verify/HS256/codec" && $3 == "ns" { print $4; exit }' <<<"$codec_out")
[ -n "$codec_ns" ] || { echo "hs256_vs_fast_jwt: no codec figure in:" >&2; echo "$codec_out" >&2; exit 1; }
js_out=$(taskset -c 0 node "$work/fast_jwt_verify.mjs" "$work/fixture.json" "$seconds")
js_ns=$(sed -n 's/.*(\([0-9]*\) ns each.*/\1/p' <<<"$js_out")

echo "signet verify/HS256/codec: $(awk -v ns="$codec_ns" 'BEGIN { printf "%d", 1e9 / ns }') per second ($codec_ns ns CPU each)"
echo "$js_out"
awk -v c="$codec_ns" -v j="$js_ns" 'BEGIN {
  r = j / c
  printf "ratio HS256 verify: signet/fast-jwt = %.1f (target >= 3) %s\n", r, (r >= 3 ? "MET" : "MISSED")
}'
