#!/usr/bin/env bash
# Checks that the container's runtime stage installs every Debian package the built binaries load.
#
#   scripts/check-runtime-deps.sh [BUILD_DIR] [DOCKERFILE]
#       BUILD_DIR   default: build            (signet-server; signetctl too when it is built)
#       DOCKERFILE  default: deploy/docker/Dockerfile
#
# It runs `ldd` on each binary, maps every library to its package with `dpkg -S`, and checks each
# package is installed by the `apt-get install ... --no-install-recommends` list of the
# Dockerfile's runtime stage (the stage after the last FROM): listed, a dependency apt brings with
# a listed package, or already in every debian:12-slim image. Exit 0 when nothing is missing; 1
# naming the missing packages; 2 when the check itself cannot run.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-build}
dockerfile=${2:-deploy/docker/Dockerfile}

# In every debian:12-slim image (dpkg and apt depend on them).
base_packages=(libc6 libgcc-s1 libstdc++6 zlib1g)

die() {
  echo "check-runtime-deps: $*" >&2
  exit 2
}

command -v ldd >/dev/null || die "ldd is not installed"
command -v dpkg >/dev/null || die "dpkg is not available (the check needs Debian)"
[ -f "$dockerfile" ] || die "no Dockerfile at $dockerfile"

binaries=("$build_dir/server/signet-server")
[ -x "${binaries[0]}" ] || die "${binaries[0]} is not built"
for candidate in "$build_dir/client/signetctl/signetctl" "$build_dir/client/signetctl"; do
  if [ -f "$candidate" ] && [ -x "$candidate" ]; then
    binaries+=("$candidate")
    break
  fi
done

# The runtime stage's package list: the lines continuing `apt-get install` after the last FROM.
mapfile -t listed < <(awk '
  /^FROM[ \t]/ { collecting = 0; delete pkgs; n = 0; next }
  {
    line = $0
    started = 0
    if (!collecting && line ~ /apt-get install/) {
      sub(/.*apt-get install/, "", line)
      collecting = 1
      started = 1
    }
    if (!collecting) next
    continued = (line ~ /\\[ \t]*$/)
    sub(/\\[ \t]*$/, "", line)
    count = split(line, words, /[ \t]+/)
    for (i = 1; i <= count; i++) {
      w = words[i]
      if (w == "&&" || w == ";") { collecting = 0; break }
      if (w ~ /^[a-z0-9][a-z0-9.+-]+$/) pkgs[++n] = w
    }
    if (!continued) collecting = 0
  }
  END { for (i = 1; i <= n; i++) print pkgs[i] }
' "$dockerfile")
[ ${#listed[@]} -gt 0 ] || die "found no apt-get install list in the runtime stage of $dockerfile"

# Every library the binaries load, as ldd prints its path.
declare -A lib_paths=()
unresolved=()
for binary in "${binaries[@]}"; do
  while read -r line; do
    case "$line" in
      *"=> not found"*)
        unresolved+=("$binary: ${line%% *} (not found by the loader)")
        continue
        ;;
      *"=> /"*) ;;
      *) continue ;;  # linux-vdso and the loader itself (libc6)
    esac
    lib_paths[$(echo "$line" | sed -E 's/.*=> ([^ ]+).*/\1/')]=1
  done < <(ldd "$binary")
done

# Their packages, from one `dpkg -S` over every path a library may be known by: as ldd printed
# it, its real path, and its /usr-merged twin (Debian 12 ships libraries under /usr/lib, ldd often
# prints /lib).
declare -A owner_of=()
candidates=()
for path in "${!lib_paths[@]}"; do
  candidates+=("$path" "$(readlink -f "$path")" "/usr${path}" "${path#/usr}")
done
while IFS= read -r line; do
  case "$line" in
    diversion*) continue ;;
  esac
  owner=${line%%:*}
  for path in ${line#*: }; do
    owner_of[${path%,}]=$owner
  done
done < <(dpkg -S "${candidates[@]}" 2>/dev/null || true)

declare -A needed_by=()
for path in "${!lib_paths[@]}"; do
  pkg=""
  for candidate in "$path" "$(readlink -f "$path")" "/usr${path}" "${path#/usr}"; do
    if [ -n "${owner_of[$candidate]+x}" ]; then
      pkg=${owner_of[$candidate]}
      break
    fi
  done
  if [ -z "$pkg" ]; then
    unresolved+=("$path (no Debian package owns it)")
    continue
  fi
  case "$pkg" in
    libasan* | libtsan* | libubsan* | liblsan*) continue ;;  # sanitizer builds only
  esac
  needed_by[$pkg]="${needed_by[$pkg]:-} $(basename "$path")"
done

# What apt installs for the list: the listed and base packages and, transitively, their Depends
# and Pre-Depends (every alternative counted, as this machine runs the same Debian release).
declare -A depends_of=()
while IFS='|' read -r pkg deps; do
  depends_of[$pkg]=$deps
done < <(dpkg-query -W -f='${Package}|${Depends},${Pre-Depends}\n')
declare -A installed=()
queue=("${listed[@]}" "${base_packages[@]}")
while [ ${#queue[@]} -gt 0 ]; do
  pkg=${queue[0]}
  queue=("${queue[@]:1}")
  [ -z "${installed[$pkg]+x}" ] || continue
  installed[$pkg]=1
  for dep in $(echo "${depends_of[$pkg]:-}" | tr ',|' '\n\n' |
                 sed -E 's/\(.*\)//; s/:any//; s/[[:space:]]//g'); do
    [ -n "$dep" ] && [ -z "${installed[$dep]+x}" ] && queue+=("$dep")
  done
done

missing=()
for pkg in $(printf '%s\n' "${!needed_by[@]}" | sort); do
  [ -n "${installed[$pkg]+x}" ] || missing+=("$pkg (for${needed_by[$pkg]})")
done

echo "check-runtime-deps: checked ${binaries[*]}"
echo "check-runtime-deps: needed: $(printf '%s\n' "${!needed_by[@]}" | sort | tr '\n' ' ')"
for have in "${listed[@]}"; do
  if [ -z "${needed_by[$have]+x}" ]; then
    echo "check-runtime-deps: note: $have is installed but no checked binary loads it"
  fi
done
if [ ${#unresolved[@]} -gt 0 ]; then
  printf 'check-runtime-deps: unresolved: %s\n' "${unresolved[@]}" >&2
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "check-runtime-deps: $dockerfile's runtime stage lacks:" >&2
  printf '  %s\n' "${missing[@]}" >&2
  exit 1
fi
[ ${#unresolved[@]} -eq 0 ] || exit 1
echo "check-runtime-deps: OK: every library comes from a package the runtime stage installs"
