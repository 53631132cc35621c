#!/usr/bin/env bash
# Builds signet's container image as docs/DEPLOY.md tells a user to, and runs it with podman:
#   1. the `docker run` examples of the Dockerfile's header and docs/DEPLOY.md (as podman run);
#   2. the rendered dev overlay (podman kube play): one replica on SQLite, plaintext gRPC;
#   3. the rendered ha overlay: three replicas on PostgreSQL (a container built from the same
#      Debian base), mutual TLS with the example policy, JWKS and discovery over HTTPS.
# Each is checked from the host the way its clients would use it: issue, validate, revoke, the
# JWKS, discovery and /metrics; the ha replicas must act as one (a key revoked on one is refused by
# the others, every replica publishes the same keys). Everything is torn down at the end.
#
#   bash scripts/container-test.sh [BUILD_DIR]    # BUILD_DIR (default build) holds signetctl
#   SIGNET_CONTAINER_SKIP_BUILD=1 bash scripts/container-test.sh   # rerun on the image built last
#
# Needs root (rootful podman: the pods' addresses are reached from the host), podman with runc,
# kubectl (renders the overlays), openssl, curl and Debian's python3-yaml; scripts/install-deps.sh
# installs all but kubectl. No image registry is needed: when `debian:12` cannot be pulled, a base
# is made from Debian's archive with mmdebstrap. podman 4.3's known limits (see
# tests/container/kube_play_manifests.py) are worked around here and in that copy of the
# manifests, never in the manifests users apply. It uses its own podman configuration (runc, lower
# rlimits), and removes the pods, volumes and secrets named as in the manifests (signet-*).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build_dir=${1:-build}
signetctl=$root/$build_dir/client/signetctl/signetctl
version=$(sed -n 's/^project(signet VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
image=signet:$version
py=/usr/bin/python3

fail() {
  echo "container-test: FAILED: $*" >&2
  exit 1
}
[ "$(id -u)" -eq 0 ] || fail "run as root (rootful podman, so that the pods' addresses are reachable)"
for tool in podman openssl curl mmdebstrap "$py"; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (bash scripts/install-deps.sh)"
done
# kubectl is no Debian 12 package: the machines this runs on bring their own client.
command -v kubectl >/dev/null || fail "kubectl is not on PATH (its client renders the overlays)"
"$py" -c 'import yaml' 2>/dev/null || fail "python3-yaml is not installed"
[ -x "$signetctl" ] || fail "$signetctl is missing: build first (bash scripts/build.sh)"

work=$(mktemp -d /tmp/signet-container.XXXXXX)
chmod 0755 "$work"
# podman on these machines starts containers only with runc and rlimits below the host's.
export CONTAINERS_CONF=$work/containers.conf
cat >"$CONTAINERS_CONF" <<'EOF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
EOF
network=signet-container-test
pg_name=signet-container-test-postgres
example_name=signet-container-test-example
example_volume=signet-container-test-data

step_start=$(date +%s)
step() {
  local now
  now=$(date +%s)
  echo "=== container-test: $* (+$((now - step_start))s) ==="
}

# Everything this script may have made, from this run or an interrupted one.
cleanup() {
  local f
  for f in "$work"/*-play*.yaml; do
    [ ! -e "$f" ] || podman kube down "$f" >/dev/null 2>&1 || true
  done
  podman rm -f "$example_name" "$pg_name" >/dev/null 2>&1 || true
  { podman pod ls --format '{{.Name}}' | grep -E '^signet(-[0-9]+)?-pod-[0-9]+$' |
    xargs -r podman pod rm -f; } >/dev/null 2>&1 || true
  { podman volume ls --format '{{.Name}}' | grep -E '^signet-' | xargs -r podman volume rm -f; } \
    >/dev/null 2>&1 || true
  { podman secret ls --format '{{.Name}}' | grep -E '^signet-' | xargs -r podman secret rm; } \
    >/dev/null 2>&1 || true
  podman network rm -f "$network" >/dev/null 2>&1 || true
}
finish() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "--- container-test: logs of the failed run ---" >&2
    podman ps -a --format '{{.Names}} {{.Status}}' >&2 || true
    local c
    for c in $(podman ps -a --format '{{.Names}}' | grep -E '^signet' || true); do
      echo "--- $c ---" >&2
      podman logs --tail 30 "$c" >&2 2>&1 || true
    done
  fi
  cleanup
  rm -rf "$work"
  exit "$rc"
}
trap finish EXIT
cleanup

# ---- the base image and the build -------------------------------------------------------------

step "base images debian:12 and debian:12-slim"
for base in debian:12 debian:12-slim; do
  podman image exists "$base" && continue
  if timeout 120 podman pull -q "$base" >/dev/null 2>&1; then continue; fi
  if ! podman image exists localhost/signet-debian-base:bookworm; then
    echo "container-test: $base cannot be pulled: making a base from Debian's archive"
    mmdebstrap --quiet --variant=minbase --format=tar bookworm "$work/base.tar"
    podman import -q "$work/base.tar" localhost/signet-debian-base:bookworm >/dev/null
    rm -f "$work/base.tar"
  fi
  podman tag localhost/signet-debian-base:bookworm "$base"
done

if [ "${SIGNET_CONTAINER_SKIP_BUILD:-0}" = 1 ] && podman image exists "$image"; then
  step "using the image $image already built (SIGNET_CONTAINER_SKIP_BUILD=1)"
else
  step "podman build -f deploy/docker/Dockerfile -t $image ."
  podman build -f deploy/docker/Dockerfile -t "$image" . >"$work/build.log" 2>&1 ||
    { tail -40 "$work/build.log" >&2; fail "the image did not build"; }
fi
podman image inspect "$image" --format '{{.Config.User}} {{json .Config.Entrypoint}}'

# ---- helpers ------------------------------------------------------------------------------------

# wait_ready URL [CURL ARGS...]: until URL answers 200 (60 s).
wait_ready() {
  local url=$1
  shift
  local i
  for i in $(seq 1 120); do
    if curl -fsS -m 2 "$@" "$url" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  fail "$url never answered 200"
}

# expect_exit CODE COMMAND...: runs COMMAND, fails unless it exits with CODE; its stdout is kept
# in $out.
expect_exit() {
  local want=$1
  shift
  local rc=0
  out=$("$@" 2>"$work/stderr") || rc=$?
  [ "$rc" -eq "$want" ] || fail "exit $rc (want $want): $* : $(cat "$work/stderr")"
}

# json FIELD: the string FIELD of the JSON object on stdin.
json() { "$py" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# active_kid SIGNETCTL-ARGS...: the active key's id, from `signetctl keys --json`.
active_kid() {
  "$signetctl" "$@" --json keys | "$py" -c '
import json, sys
print(*[k["key_id"] for k in json.load(sys.stdin)["keys"] if k["state"] == "KEY_STATE_ACTIVE"])'
}

# check_http BASE ISSUER [CURL ARGS...]: the JWKS, discovery and metrics a replica serves.
check_http() {
  local base=$1 issuer=$2
  shift 2
  local jwks discovery metrics
  jwks=$(curl -fsS -m 5 "$@" "$base/.well-known/jwks.json") || fail "GET $base JWKS"
  echo "$jwks" | "$py" -c 'import json,sys; assert json.load(sys.stdin)["keys"], "no keys"' ||
    fail "the JWKS at $base holds no key"
  discovery=$(curl -fsS -m 5 "$@" "$base/.well-known/openid-configuration") ||
    fail "GET $base discovery"
  [ "$(echo "$discovery" | json issuer)" = "$issuer" ] || fail "discovery issuer: $discovery"
  [ "$(echo "$discovery" | json jwks_uri)" = "$issuer/.well-known/jwks.json" ] ||
    fail "discovery jwks_uri: $discovery"
  metrics=$(curl -fsS -m 5 "$@" "$base/metrics") || fail "GET $base/metrics"
  grep -q "^signet_build_info{.*version=\"$version\"" <<<"$metrics" ||
    fail "/metrics at $base has no signet_build_info for $version"
}

# play FILE NETWORK POD...: podman kube play FILE (on NETWORK, or podman's default for kube play
# when empty), then waits for each POD's signet container to run. podman 4.3 sometimes leaves the
# init container "running" after it exited, so that the pod never starts: that container is
# removed and the pod started again.
play() {
  local file=$1 net=$2
  shift 2
  local stuck=10
  if ! podman kube play ${net:+--network "$net"} --log-driver=k8s-file "$file" \
    >"$work/play.log" 2>&1; then
    # That failure is the quirk below, reported at once; anything else is a real one.
    grep -q "failed to remove once init container" "$work/play.log" ||
      { cat "$work/play.log" >&2; fail "podman kube play $file"; }
    stuck=1
  fi
  local pod i state
  for pod in "$@"; do
    for i in $(seq 1 60); do
      state=$(podman inspect "$pod-signet" --format '{{.State.Status}}' 2>/dev/null || true)
      [ "$state" = running ] && break
      if [ "$i" -eq "$stuck" ] && podman container exists "$pod-kek"; then
        echo "container-test: $pod: init container left behind, restarting the pod (podman 4.3)"
        podman rm -f "$pod-kek" >/dev/null 2>&1
        podman pod start "$pod" >/dev/null 2>&1
      fi
      sleep 1
    done
    [ "$state" = running ] || fail "pod $pod never ran its signet container (state: $state)"
  done
}

# address_on NETWORK CONTAINER: the container's IPv4 address on NETWORK.
address_on() {
  podman inspect "$2" --format "{{(index .NetworkSettings.Networks \"$1\").IPAddress}}"
}

# ---- 1. the docker run examples -----------------------------------------------------------------

"$py" tests/container/docker_run_examples.py "$root" "$image" "$example_name" "$example_volume" \
  >"$work/examples"
while IFS= read -r example; do
  step "example: $example"
  eval "$example" >/dev/null 2>&1
  wait_ready http://127.0.0.1:8080/readyz
  expect_exit 0 "$signetctl" --target=127.0.0.1:50051 issue --subject=example-user
  token=$out
  expect_exit 0 "$signetctl" --target=127.0.0.1:50051 validate --any_audience "$token"
  check_http http://127.0.0.1:8080 http://localhost:8080
  podman rm -f "$example_name" >/dev/null
  podman volume rm -f "$example_volume" >/dev/null
done <"$work/examples"
[ -s "$work/examples" ] || fail "no docker run example found"

# ---- 2. the dev overlay -------------------------------------------------------------------------

step "dev overlay: kubectl kustomize deploy/k8s/overlays/dev | podman kube play"
kubectl kustomize deploy/k8s/overlays/dev >"$work/dev.yaml"
openssl rand -hex 32 | tr -d '\n' >"$work/kek"
"$py" tests/container/kube_play_manifests.py "$work/dev.yaml" "$work/dev-play.yaml" \
  --secrets-dir "$work/secrets" --secret signet-kek kek "$work/kek"
play "$work/dev-play.yaml" "" signet-pod-0
wait_ready http://127.0.0.1:8081/readyz
dev_issuer=$(sed -n 's/^ *--public_url=//p' deploy/k8s/base/flags)
dev=(--target=127.0.0.1:50051)
expect_exit 0 "$signetctl" "${dev[@]}" issue --subject=dev-user --audience=api
dev_token=$out
expect_exit 0 "$signetctl" "${dev[@]}" validate --audience=api "$dev_token"
expect_exit 1 "$signetctl" "${dev[@]}" validate --audience=web "$dev_token"
check_http http://127.0.0.1:8080 "$dev_issuer"
expect_exit 0 "$signetctl" "${dev[@]}" revoke-token "$dev_token"
expect_exit 1 "$signetctl" "${dev[@]}" validate --audience=api "$dev_token"

step "dev overlay: the claim keeps the keys across a pod restart"
expect_exit 0 "$signetctl" "${dev[@]}" issue --subject=dev-user --audience=api
dev_token=$out
kid_before=$(active_kid "${dev[@]}")
[ -n "$kid_before" ] || fail "no active key listed"
podman pod stop -t 30 signet-pod-0 >/dev/null 2>&1
podman pod start signet-pod-0 >/dev/null 2>&1
wait_ready http://127.0.0.1:8081/readyz
[ "$(active_kid "${dev[@]}")" = "$kid_before" ] || fail "the active key changed across a restart"
expect_exit 0 "$signetctl" "${dev[@]}" validate --audience=api "$dev_token"
expect_exit 0 "$signetctl" "${dev[@]}" revoke-key "$kid_before"
expect_exit 1 "$signetctl" "${dev[@]}" validate --audience=api "$dev_token"
podman kube down "$work/dev-play.yaml" >/dev/null 2>&1
rm -f "$work/dev-play.yaml"
cleanup

# ---- 3. the ha overlay --------------------------------------------------------------------------

step "ha overlay: PostgreSQL in a container from the same base"
podman build -f tests/container/postgres.Containerfile -t localhost/signet-test-postgres:15 \
  tests/container >"$work/pg-build.log" 2>&1 ||
  { tail -20 "$work/pg-build.log" >&2; fail "the PostgreSQL image did not build"; }
podman network create "$network" >/dev/null
podman run -d --name "$pg_name" --network "$network" localhost/signet-test-postgres:15 \
  >/dev/null 2>&1
for i in $(seq 1 60); do
  podman exec "$pg_name" pg_isready -q -h /tmp && break
  sleep 0.5
done
pg_password=$(openssl rand -hex 16)
podman exec "$pg_name" psql -q -h /tmp -U postgres \
  -c "CREATE ROLE signet LOGIN PASSWORD '$pg_password'" -c "CREATE DATABASE signet OWNER signet"
pg_ip=$(address_on "$network" "$pg_name")
echo -n "host=$pg_ip port=5432 dbname=signet user=signet password=$pg_password connect_timeout=3" \
  >"$work/dsn"

step "ha overlay: certificates for the Services and three callers of the policy"
pki=$work/pki
mkdir "$pki"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${ec[@]}" -keyout "$pki/ca.key" -out "$pki/ca.crt" -subj "/CN=signet test CA" \
  -days 1 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
# leaf NAME EXTENSIONS
leaf() {
  openssl req -new "${ec[@]}" -keyout "$pki/$1.key" -out "$pki/$1.csr" -subj "/CN=$1" 2>/dev/null
  printf '%s\n' "$2" >"$pki/$1.ext"
  openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 1 -out "$pki/$1.crt" -extfile "$pki/$1.ext" 2>/dev/null
}
svc=signet.signet.svc
leaf server "subjectAltName=DNS:$svc,DNS:$svc.cluster.local,DNS:signet-headless.signet.svc.cluster.local
extendedKeyUsage=serverAuth"
spiffe() { echo "subjectAltName=URI:spiffe://cluster.local/ns/$1/sa/$2
extendedKeyUsage=clientAuth"; }
leaf login "$(spiffe auth login)"
leaf admin "$(spiffe signet signet-admin)"
leaf orders "$(spiffe shop orders)"

step "ha overlay: kubectl kustomize deploy/k8s/overlays/ha | podman kube play (three replicas)"
kubectl kustomize deploy/k8s/overlays/ha >"$work/ha.yaml"
"$py" tests/container/kube_play_manifests.py "$work/ha.yaml" "$work/ha-play.yaml" \
  --secrets-dir "$work/secrets" --replicas 3 --unpublished --secret signet-kek kek "$work/kek" \
  --secret signet-tls tls.crt "$pki/server.crt" --secret signet-tls tls.key "$pki/server.key" \
  --secret signet-tls ca.crt "$pki/ca.crt" --secret signet-postgres dsn "$work/dsn"
ips=()
for i in 0 1 2; do
  play "$work/ha-play-$i.yaml" "$network" "signet-$i-pod-0"
  infra=$(podman pod inspect "signet-$i-pod-0" --format '{{.InfraContainerID}}')
  ips+=("$(address_on "$network" "$infra")")
done
echo "replicas at ${ips[*]}"
ha_issuer=$(sed -n 's/^ *--public_url=//p' deploy/k8s/overlays/ha/site.flags)
for ip in "${ips[@]}"; do wait_ready "http://$ip:8081/readyz"; done

# caller NAME IP: signetctl's flags to call the replica at IP as NAME over mutual TLS.
caller() {
  printf '%s\n' "--target=$2:50051" "--tls_ca_file=$pki/ca.crt" "--tls_cert_file=$pki/$1.crt" \
    "--tls_key_file=$pki/$1.key" "--tls_server_name=$svc"
}
mapfile -t login0 < <(caller login "${ips[0]}")
mapfile -t login1 < <(caller login "${ips[1]}")
mapfile -t orders0 < <(caller orders "${ips[0]}")
mapfile -t orders1 < <(caller orders "${ips[1]}")
mapfile -t orders2 < <(caller orders "${ips[2]}")
mapfile -t admin2 < <(caller admin "${ips[2]}")

step "ha overlay: HTTPS, mutual TLS and the policy on every replica"
https=(--cacert "$pki/ca.crt")
first_jwks=""
for ip in "${ips[@]}"; do
  resolve=(--resolve "$svc.cluster.local:8080:$ip")
  check_http "https://$svc.cluster.local:8080" "$ha_issuer" "${https[@]}" "${resolve[@]}"
  jwks=$(curl -fsS "${https[@]}" "${resolve[@]}" "https://$svc.cluster.local:8080/.well-known/jwks.json")
  [ -z "$first_jwks" ] || [ "$jwks" = "$first_jwks" ] || fail "replicas publish different keys"
  first_jwks=$jwks
  # Plaintext HTTP on the https port and plaintext gRPC are refused.
  if curl -fsS -m 3 "http://$ip:8080/.well-known/jwks.json" >/dev/null 2>&1; then
    fail "plaintext HTTP served by $ip"
  fi
  expect_exit 2 "$signetctl" --target="$ip:50051" --timeout=3s jwks
done
# The policy: orders validates but may not issue or revoke.
expect_exit 2 "$signetctl" "${orders1[@]}" issue --subject=user:1 --audience=api

step "ha overlay: the replicas act as one"
expect_exit 0 "$signetctl" "${login0[@]}" issue --subject=user:42 --audience=api
token=$out
expect_exit 0 "$signetctl" "${orders1[@]}" validate --audience=api "$token"
expect_exit 0 "$signetctl" "${orders2[@]}" validate --audience=api "$token"
kid=$(active_kid "${admin2[@]}")
[ -n "$kid" ] || fail "no active key listed"
expect_exit 2 "$signetctl" "${orders2[@]}" revoke-key "$kid"
expect_exit 0 "$signetctl" "${admin2[@]}" revoke-key "$kid"
# Revoked on replica 2: refused by 0 and 1 as soon as they hear of it (LISTEN/NOTIFY, bounded by
# --reload_interval).
for peer in orders0 orders1; do
  declare -n args=$peer
  refused=0
  for i in $(seq 1 40); do
    rc=0
    "$signetctl" "${args[@]}" validate --audience=api "$token" >/dev/null 2>&1 || rc=$?
    if [ "$rc" -eq 1 ]; then
      refused=1
      break
    fi
    sleep 0.25
  done
  [ "$refused" -eq 1 ] || fail "$peer still accepts a token of revoked key $kid"
  unset -n args
done
expect_exit 0 "$signetctl" "${login1[@]}" issue --subject=user:42 --audience=api
token=$out
[ "$(active_kid "${admin2[@]}")" != "$kid" ] || fail "signing did not move off the revoked key"
expect_exit 0 "$signetctl" "${orders0[@]}" validate --audience=api "$token"

for i in 0 1 2; do podman kube down "$work/ha-play-$i.yaml" >/dev/null 2>&1; done
step "done: the image, both docker run examples, the dev overlay and the ha overlay (3 replicas)"
