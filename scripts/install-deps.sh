#!/usr/bin/env bash
# Installs signet's build and test dependencies from Debian 12 packages. Idempotent: when every
# package is already installed it only checks and returns.
#
#   bash scripts/install-deps.sh           # build, test, benchmark and sanitizer dependencies
#   bash scripts/install-deps.sh --build   # only what building signet-server and signetctl needs
#                                          # (the container image's build stage)
set -euo pipefail

build_packages=(
  build-essential cmake ninja-build pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libssl-dev libsodium-dev rapidjson-dev libsqlite3-dev libpq-dev libcpp-httplib-dev
  libp11-kit-dev  # the PKCS#11 header (the key backend loads its module at run time)
)
test_packages=(
  ccache git openssl sqlite3 libcurl4-openssl-dev curl
  softhsm2 opensc  # a software PKCS#11 token for the PKCS#11 key backend's tests
  p11-kit  # `p11-kit server`: the tests reach the token remotely and take it away
  libgtest-dev libgmock-dev libbenchmark-dev
  nginx
  postgresql postgresql-client
  prometheus  # promtool, for the alert rules' checks (tests/deploy); its service is not needed
  clang libclang-rt-14-dev clang-format
  # The image built and the Kubernetes overlays run (scripts/container-test.sh): podman with runc,
  # its container networking and a Debian base image made from the archive when none can be pulled.
  podman buildah runc catatonit netavark aardvark-dns containernetworking-plugins iptables
  mmdebstrap python3-yaml
)
case "${1:-}" in
  "") packages=("${build_packages[@]}" "${test_packages[@]}") ;;
  --build) packages=("${build_packages[@]}") ;;
  *) echo "usage: $0 [--build]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  [ -n "$p" ] || continue
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm run the schema checks of the example manifests (tests/deploy). Any Node.js 18 or
# later will do: Debian's packages only when neither is on the PATH already.
if [ "${1:-}" != --build ]; then
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
