#!/usr/bin/env bash
# check-manifest-schemas.sh WORK_DIR FILE.yaml...: validates the Kubernetes objects in FILEs
# against their schemas (validate_manifests.mjs). The schema packages, pinned by
# package-lock.json, are installed into WORK_DIR with `npm ci` the first time (and again when the
# lock file changes); concurrent runs wait for one install.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$1
shift
mkdir -p "$work"
command -v node >/dev/null && command -v npm >/dev/null ||
  { echo "check-manifest-schemas: node and npm are needed (scripts/install-deps.sh)" >&2; exit 2; }
(
  flock 9
  if [ ! -d "$work/node_modules" ] || ! cmp -s "$here/package-lock.json" "$work/package-lock.json"; then
    cp "$here/package.json" "$here/package-lock.json" "$work/"
    (cd "$work" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
  cp "$here/validate_manifests.mjs" "$work/"
) 9>"$work/.install.lock"
exec node "$work/validate_manifests.mjs" "$@"
