#!/usr/bin/env bash
# run-discovery-client.sh WORK_DIR ISSUER TOKEN AUDIENCE: runs discover_and_verify.mjs. Its
# packages, pinned by package-lock.json, are installed into WORK_DIR with `npm ci` the first time
# (and again when the lock file changes); concurrent runs wait for one install.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$1
shift
mkdir -p "$work"
command -v node >/dev/null && command -v npm >/dev/null ||
  { echo "run-discovery-client: node and npm are needed (scripts/install-deps.sh)" >&2; exit 2; }
(
  flock 9
  if [ ! -d "$work/node_modules" ] || ! cmp -s "$here/package-lock.json" "$work/package-lock.json"; then
    cp "$here/package.json" "$here/package-lock.json" "$work/"
    (cd "$work" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
  cp "$here/discover_and_verify.mjs" "$work/"
) 9>"$work/.install.lock"
exec node "$work/discover_and_verify.mjs" "$@"
