// node extract_prometheus_rules.mjs PROMETHEUSRULE.yaml: prints the PrometheusRule's spec (its
// rule groups) as a Prometheus rule file, for promtool.
import { readFileSync } from 'node:fs';
import YAML from 'yaml';

const rule = YAML.parse(readFileSync(process.argv[2], 'utf8'));
if (rule?.kind !== 'PrometheusRule' || !rule.spec?.groups) {
  console.error(`${process.argv[2]}: not a PrometheusRule with spec.groups`);
  process.exit(1);
}
process.stdout.write(YAML.stringify(rule.spec));
