#!/usr/bin/env bash
# Obtain a Debian package's files WITHOUT installing it system-wide.
#
#   db/seed/fetch-debian-package.sh <package> <dest-dir>
#
# Downloads the .deb with `apt-get download` into var/cache/debs/ (repo root),
# then unpacks it with `dpkg-deb -x` into <dest-dir>. Idempotent: a marker file
# <dest-dir>/.polylink-package-version holds the extracted version; when it
# matches the candidate version, nothing is done. Prints the package version
# on stdout (the last line); progress goes to stderr.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 <package> <dest-dir>" >&2
  exit 2
fi

pkg="$1"
dest="$2"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="$repo_root/var/cache/debs"
marker="$dest/.polylink-package-version"

candidate_version() {
  apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ { print $2; exit }'
}

version="$(candidate_version || true)"
if [[ -z "$version" || "$version" == "(none)" ]]; then
  version=""
fi

# Already extracted (same version, or no apt metadata available to compare)?
if [[ -f "$marker" ]]; then
  have="$(cat "$marker")"
  if [[ -z "$version" || "$have" == "$version" ]]; then
    echo "$pkg $have already extracted in $dest" >&2
    echo "$have"
    exit 0
  fi
fi

mkdir -p "$cache"

find_deb() {
  # apt-get download names files <pkg>_<version with ':' as %3a>_<arch>.deb
  local v="${1//:/%3a}"
  compgen -G "$cache/${pkg}_${v}_*.deb" | head -n 1 || true
}

deb=""
if [[ -n "$version" ]]; then
  deb="$(find_deb "$version")"
fi
if [[ -z "$deb" ]]; then
  echo "downloading $pkg ${version:-} into $cache" >&2
  if ! (cd "$cache" && apt-get download "$pkg" >&2); then
    echo "apt-get download failed; running apt-get update and retrying" >&2
    apt-get update >&2
    version="$(candidate_version || true)"
    (cd "$cache" && apt-get download "$pkg" >&2)
  fi
  if [[ -z "$version" || "$version" == "(none)" ]]; then
    version="$(candidate_version)"
  fi
  deb="$(find_deb "$version")"
  if [[ -z "$deb" ]]; then
    # fall back to the newest file for this package
    deb="$(ls -t "$cache/${pkg}"_*.deb | head -n 1)"
  fi
fi

# The package's own version, from the .deb itself (authoritative).
version="$(dpkg-deb -f "$deb" Version)"

echo "extracting $(basename "$deb") into $dest" >&2
tmp="$dest.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp"
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv "$tmp" "$dest"
trap - EXIT
printf '%s\n' "$version" > "$marker"
echo "$version"
