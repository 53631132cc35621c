#!/usr/bin/env bash
# run-discovery-client.sh WORK_DIR ISSUER TOKEN AUDIENCE: runs discover_and_verify.mjs (openid-client
# and jose, pinned by package-lock.json).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec bash "$here/../../support/run-pinned-node.sh" "$here" "$1" discover_and_verify.mjs "${@:2}"
