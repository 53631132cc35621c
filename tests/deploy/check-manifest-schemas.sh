#!/usr/bin/env bash
# check-manifest-schemas.sh WORK_DIR FILE.yaml...: validates the Kubernetes objects in FILEs
# against their schemas (validate_manifests.mjs, with the schema packages package-lock.json pins).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec bash "$here/../support/run-pinned-node.sh" "$here" "$1" validate_manifests.mjs "${@:2}"
