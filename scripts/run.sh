#!/usr/bin/env bash
# Installs dependencies, builds, and runs signet-server on its embedded defaults: SQLite in
# ./signet-data, gRPC on 127.0.0.1:50051, HTTP on 127.0.0.1:8080. Extra flags pass through.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# Only what runs: the server (and signetctl, for the README's walk-through), not the tests.
BUILD_TARGETS="signet-server signetctl" bash scripts/build.sh
exec ./build/server/signet-server "$@"
