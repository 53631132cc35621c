#!/usr/bin/env bash
# Installs signet's build and test dependencies from Debian 12 packages. Idempotent: when every
# package is already installed it only checks and returns.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libssl-dev openssl libsodium-dev rapidjson-dev libsqlite3-dev sqlite3 libpq-dev
  libcpp-httplib-dev libcurl4-openssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  nginx
  postgresql postgresql-client
  prometheus  # promtool, for the alert rules' checks (tests/deploy); its service is not needed
  clang libclang-rt-14-dev clang-format
)

missing=()
for p in "${packages[@]}"; do
  [ -n "$p" ] || continue
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm run the schema checks of the example manifests (tests/deploy). Any Node.js 18 or
# later will do: Debian's packages only when neither is on the PATH already.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
