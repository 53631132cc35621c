#!/usr/bin/env bash
# Configures and builds signet into ${BUILD_DIR:-build} (extra CMake arguments pass through).
# BUILD_TARGETS (space-separated) builds only those targets; by default, everything.
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache keys on relative paths below the checkout, so clones in other folders (CI) share hits.
export CCACHE_BASEDIR="$PWD"
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} "$@" >/dev/null
read -r -a targets <<<"${BUILD_TARGETS:-}"
cmake --build "$build_dir" -j"$(nproc)" ${targets[@]:+--target "${targets[@]}"}
