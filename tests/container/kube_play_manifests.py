#!/usr/bin/env python3
"""Turns a rendered overlay (kubectl kustomize) into what `podman kube play` (4.3) runs.

The manifests users apply are not changed; only this copy is, for podman's known limits:
  - kube play runs Deployments, ConfigMaps and PersistentVolumeClaims; the other kinds (Service,
    NetworkPolicy, HorizontalPodAutoscaler, ...) are a cluster's and are dropped;
  - it runs one pod per Deployment, and a pod that fails to start stops it from reading the rest
    of the file: --replicas N writes N files, OUT with -0.yaml .. -(N-1).yaml for .yaml, each
    with the ConfigMaps and one Deployment NAME-i, to be played one after the other;
  - it makes each emptyDir a named volume, shared by every pod whose volume has that name: each
    replica's emptyDirs are renamed NAME-i, so that no two pods share one;
  - it publishes every containerPort on the host: --unpublished drops the ports (pods are then
    reached at their own addresses), so that several replicas can run side by side;
  - its Secrets cannot hold PEM files (it ignores stringData, insists that `data` be base64 yet
    mounts it undecoded), it mounts them 0644 whatever the defaultMode, and it crashes on a secret
    volume without an explicit `optional`. So each secret volume becomes a hostPath folder under
    SECRETS_DIR holding what the kubelet would mount: the Secret's keys (or the volume's items),
    owned by root with the pod's fsGroup, mode defaultMode | 0440 (the kubelet adds group read
    for fsGroup on read-only volumes). --secret NAME KEY FILE (repeatable) gives the contents.

usage: kube_play_manifests.py RENDERED OUT --secrets-dir DIR [--replicas N] [--unpublished]
                              [--secret NAME KEY FILE]...
"""
import argparse
import copy
import os
import sys

import yaml

KEPT = {"ConfigMap", "PersistentVolumeClaim", "Deployment"}


def mount_secret(volume, secrets, secrets_dir, fs_group):
    """Writes the files of a secret volume under secrets_dir; returns the hostPath volume."""
    source = volume["secret"]
    name = source["secretName"]
    if name not in secrets:
        sys.exit(f"kube_play_manifests: no --secret given for Secret {name}")
    folder = os.path.join(secrets_dir, f"{name}-{volume['name']}")
    os.makedirs(folder, exist_ok=True)
    os.chmod(folder, 0o755)
    items = source.get("items") or [{"key": k, "path": k} for k in secrets[name]]
    for item in items:
        if item["key"] not in secrets[name]:
            sys.exit(f"kube_play_manifests: Secret {name} has no key {item['key']}")
        path = os.path.join(folder, item["path"])
        with open(path, "w") as f:
            f.write(secrets[name][item["key"]])
        mode = item.get("mode", source.get("defaultMode", 0o644))
        if fs_group is not None:
            os.chown(path, 0, fs_group)
            mode |= 0o440
        os.chmod(path, mode)
    return {"name": volume["name"], "hostPath": {"path": folder, "type": "Directory"}}


def adapt_deployment(doc, replicas, unpublished, secrets, secrets_dir):
    spec = doc["spec"]["template"]["spec"]
    fs_group = spec.get("securityContext", {}).get("fsGroup")
    spec["volumes"] = [mount_secret(v, secrets, secrets_dir, fs_group) if "secret" in v else v
                       for v in spec.get("volumes", [])]
    if unpublished:
        for container in spec["containers"]:
            numbers = {p["name"]: p["containerPort"] for p in container.pop("ports", [])
                       if "name" in p}
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                for action in container.get(probe, {}).values():
                    if isinstance(action, dict) and action.get("port") in numbers:
                        action["port"] = numbers[action["port"]]
    out = []
    name = doc["metadata"]["name"]
    for i in range(replicas):
        copy_ = copy.deepcopy(doc)
        copy_["spec"]["replicas"] = 1
        if replicas > 1:
            copy_["metadata"]["name"] = f"{name}-{i}"
            rename_empty_dirs(copy_["spec"]["template"]["spec"], f"-{i}")
        out.append(copy_)
    return out


def rename_empty_dirs(spec, suffix):
    """Gives the pod's emptyDir volumes (and their mounts) names of their own."""
    renamed = {}
    for volume in spec.get("volumes", []):
        if "emptyDir" in volume:
            renamed[volume["name"]] = volume["name"] + suffix
            volume["name"] += suffix
    for container in spec.get("initContainers", []) + spec.get("containers", []):
        for mount in container.get("volumeMounts", []):
            mount["name"] = renamed.get(mount["name"], mount["name"])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("rendered")
    parser.add_argument("out")
    parser.add_argument("--secrets-dir", required=True)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--unpublished", action="store_true")
    parser.add_argument("--secret", nargs=3, action="append", default=[],
                        metavar=("NAME", "KEY", "FILE"))
    args = parser.parse_args()

    with open(args.rendered) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    secrets = {}
    for name, key, path in args.secret:
        with open(path) as f:
            secrets.setdefault(name, {})[key] = f.read()
    shared = []
    deployments = []
    for doc in docs:
        kind = doc.get("kind")
        if kind not in KEPT:
            continue
        if kind == "Deployment":
            deployments.extend(adapt_deployment(doc, args.replicas, args.unpublished, secrets,
                                                args.secrets_dir))
        else:
            shared.append(doc)
    if args.replicas == 1:
        with open(args.out, "w") as f:
            yaml.safe_dump_all(shared + deployments, f, sort_keys=False)
        return 0
    stem = args.out[:-len(".yaml")] if args.out.endswith(".yaml") else args.out
    for i, deployment in enumerate(deployments):
        with open(f"{stem}-{i}.yaml", "w") as f:
            yaml.safe_dump_all(shared + [deployment], f, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
