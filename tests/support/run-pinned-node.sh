#!/usr/bin/env bash
# run-pinned-node.sh PACKAGE_DIR WORK_DIR SCRIPT.mjs ARGS...: runs PACKAGE_DIR/SCRIPT.mjs with node,
# its packages (PACKAGE_DIR/package.json, pinned by package-lock.json) installed into WORK_DIR with
# `npm ci` the first time and again when the lock file changes; concurrent runs wait for one
# install. For the tests that run a JavaScript tool or client against signet.
set -euo pipefail
package=$(cd "$1" && pwd)
work=$2
script=$3
shift 3
mkdir -p "$work"
command -v node >/dev/null && command -v npm >/dev/null ||
  { echo "run-pinned-node: node and npm are needed (scripts/install-deps.sh)" >&2; exit 2; }
(
  flock 9
  if [ ! -d "$work/node_modules" ] || ! cmp -s "$package/package-lock.json" "$work/package-lock.json"; then
    cp "$package/package.json" "$package/package-lock.json" "$work/"
    (cd "$work" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
  cp "$package/$script" "$work/"
) 9>"$work/.install.lock"
exec node "$work/$script" "$@"
