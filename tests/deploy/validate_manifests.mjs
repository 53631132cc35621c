// Validates Kubernetes objects against the published schemas of their custom resources (Istio,
// Traefik, the Prometheus Operator, cert-manager), as the kubernetes-models packages carry them: every document must name a known
// apiVersion/kind and pass its schema. Used for deploy/gateways/; Envoy's bootstrap (envoy.yaml)
// is not a Kubernetes object: its schema is Envoy's protobuf API, which only Envoy can check.
//
// Usage: node validate_manifests.mjs FILE.yaml...   (exit 0 when every document is valid)
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import * as istio from '@kubernetes-models/istio';
import * as traefik from '@kubernetes-models/traefik';
import * as prometheusOperator from '@kubernetes-models/prometheus-operator';
import * as certManager from '@kubernetes-models/cert-manager';

// apiVersion group -> module namespace holding one export per version.
const groups = {
  'install.istio.io': istio.installIstioIo,
  'security.istio.io': istio.securityIstioIo,
  'networking.istio.io': istio.networkingIstioIo,
  'traefik.io': traefik.traefikIo,
  'monitoring.coreos.com': prometheusOperator.monitoringCoreosCom,
  'cert-manager.io': certManager.certManagerIo,
};

function modelFor(apiVersion, kind) {
  const [group, version] = String(apiVersion).split('/');
  const ns = groups[group];
  if (!ns) return null;
  const byVersion = ns[version];
  return byVersion ? byVersion[kind] ?? null : null;
}

let failures = 0;
let checked = 0;
for (const file of process.argv.slice(2)) {
  const docs = YAML.parseAllDocuments(readFileSync(file, 'utf8'));
  for (const doc of docs) {
    if (doc.errors.length) {
      console.error(`${file}: YAML error: ${doc.errors[0].message}`);
      failures++;
      continue;
    }
    const obj = doc.toJS();
    if (obj === null) continue;
    const Model = modelFor(obj.apiVersion, obj.kind);
    const name = `${file}: ${obj.apiVersion} ${obj.kind} ${obj.metadata?.name ?? ''}`;
    if (!Model) {
      console.error(`${name}: no schema known for this apiVersion/kind`);
      failures++;
      continue;
    }
    try {
      new Model(obj).validate();
      console.log(`${name}: valid`);
      checked++;
    } catch (e) {
      console.error(`${name}: ${e.message}`);
      failures++;
    }
  }
}
console.log(`${checked} passed, ${failures} failed`);
process.exit(failures === 0 && checked > 0 ? 0 : 1);
