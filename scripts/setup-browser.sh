#!/usr/bin/env bash
# Installs the browser the page's end-to-end test drives (test/browser/): Debian's chromium, run by
# puppeteer-core (its own browser download needs hosts these machines cannot reach). Idempotent;
# apt-get runs only when no chromium is found. Prints the binary's path on stdout.
set -euo pipefail

find_chromium() {
  local candidate
  for candidate in "${POLYLINK_CHROMIUM:-}" chromium chromium-browser; do
    [[ -n "${candidate}" ]] && command -v "${candidate}" 2>/dev/null && return 0
  done
  return 1
}

if ! find_chromium >/dev/null; then
  echo "setup-browser: installing Debian's chromium with apt-get" >&2
  sudo_cmd=()
  ((EUID == 0)) || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq >&2
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
fi
find_chromium || { echo "setup-browser: chromium is still missing" >&2; exit 1; }
