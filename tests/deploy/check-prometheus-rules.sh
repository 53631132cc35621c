#!/usr/bin/env bash
# check-prometheus-rules.sh WORK_DIR PROMETHEUSRULE.yaml TESTS.yaml: promtool's syntax and
# expression checks on the PrometheusRule's rules, then its unit tests (TESTS.yaml, which reads
# rules.yaml beside it). promtool comes with Debian's prometheus package.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$1
command -v promtool >/dev/null ||
  { echo "check-prometheus-rules: promtool is needed (scripts/install-deps.sh)" >&2; exit 2; }
mkdir -p "$work/rules"
bash "$here/../support/run-pinned-node.sh" "$here" "$work" extract_prometheus_rules.mjs "$2" \
  > "$work/rules/rules.yaml"
cp "$3" "$work/rules/tests.yaml"
promtool check rules "$work/rules/rules.yaml"
cd "$work/rules" && promtool test rules tests.yaml
