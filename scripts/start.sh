#!/usr/bin/env bash
# The start command: sets up, starts a local Neo4j (auth on) unless NEO4J_URI points elsewhere,
# loads the demo graph (real Freeciv nations from Debian's freeciv-data), builds and serves GraphQL.
#
# Env (besides the service's own, see README): POLYLINK_DEMO_LIMIT (nations to load; default 60 on the
# local server, 0 when NEO4J_URI names your own database), NEO4J_PASSWORD (local server; generated and kept in var/secrets when unset),
# POLYLINK_API_KEY_FILE (where the admin key is kept; default var/secrets/api-key),
# POLYLINK_EXECUTION_PROVIDER=cuda (runs scripts/setup-cuda.sh and sets LD_LIBRARY_PATH; README, CUDA).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Production unless told otherwise: no stack traces, no introspection, no landing page.
export NODE_ENV="${NODE_ENV:-production}"

bash scripts/setup.sh

# CUDA (opt-in): assemble onnxruntime-node's CUDA path from PyPI once (it fails with the reason when
# the NVIDIA driver is missing or older than CUDA 13 needs), and put its libraries on the library
# path, which the dynamic linker reads only at process start.
if [[ "${POLYLINK_EXECUTION_PROVIDER:-cpu}" == [Cc][Uu][Dd][Aa] ]]; then
  cuda_dir="${POLYLINK_CUDA_DIR:-var/cuda}"
  bash scripts/setup-cuda.sh --dest "${cuda_dir}"
  export LD_LIBRARY_PATH="$(cd "${cuda_dir}/runtime/lib" && pwd)${LD_LIBRARY_PATH:+:${LD_LIBRARY_PATH}}"
fi

# The demo graph goes only into the local server: never into a database the user brought.
default_demo_limit=0
if [[ -z "${NEO4J_URI:-}" ]]; then
  default_demo_limit=60
  if [[ -z "${NEO4J_PASSWORD:-}" ]]; then
    secret=var/secrets/neo4j-password
    if [[ ! -s "${secret}" ]]; then
      mkdir -p var/secrets && chmod 700 var/secrets
      (umask 077 && node -e 'console.log(require("node:crypto").randomBytes(18).toString("base64url"))' > "${secret}")
    fi
    NEO4J_PASSWORD="$(cat "${secret}")"
    echo "start: Neo4j password for user neo4j is in ${secret}"
  fi
  export NEO4J_PASSWORD NEO4J_AUTH_ENABLED=true NEO4J_INSTANCE="${NEO4J_INSTANCE:-dev}"
  bash db/neo4j/start.sh
  export NEO4J_URI="bolt://127.0.0.1:${NEO4J_BOLT_PORT:-7687}"
  # The page's "open in Neo4j Browser" links go to this server's Browser.
  export POLYLINK_NEO4J_BROWSER_URL="${POLYLINK_NEO4J_BROWSER_URL:-http://127.0.0.1:${NEO4J_HTTP_PORT:-7474}/browser}"
fi

npm run --silent build
node bin/polylink.js migrate

demo_limit="${POLYLINK_DEMO_LIMIT:-${default_demo_limit}}"
if [[ "${demo_limit}" != 0 ]]; then
  npx tsx db/seed/freeciv-nations.ts --out "var/demo/freeciv-${demo_limit}" --limit "${demo_limit}"
  POLYLINK_MIGRATE_ON_START=false node bin/polylink.js import "var/demo/freeciv-${demo_limit}/entities.jsonl"
fi

# Every request needs an API key: keep one admin key where only this user can read it (as the Neo4j
# password), made once and kept while it works. More keys: npm run api-keys -- create --role read --name NAME
api_key_file="${POLYLINK_API_KEY_FILE:-var/secrets/api-key}"
POLYLINK_MIGRATE_ON_START=false node bin/polylink.js api-keys ensure --role admin --name "start.sh admin" --file "${api_key_file}"
echo "start: admin API key is in ${api_key_file}; send it as: Authorization: Bearer \$(cat ${api_key_file})"

echo "start: Neo4j Browser: http://127.0.0.1:${NEO4J_HTTP_PORT:-7474}/browser/ (stop Neo4j with: npm run db:down)"

# The page needs a key too (every request does): its address carries the admin key in the fragment,
# which the browser never sends; the page moves it to sessionStorage and out of the address bar.
service_host="${POLYLINK_HOST:-127.0.0.1}"
[[ "${service_host}" == 0.0.0.0 || "${service_host}" == :: ]] && service_host=127.0.0.1
service_url="${POLYLINK_PUBLIC_URL:-http://${service_host}:${POLYLINK_PORT:-4000}}"
service_url="${service_url%/}"
echo "start: the page: ${service_url}/#key=$(cat "${api_key_file}")"
echo "start: the Neo4j Browser guide: run  :play ${service_url}/browser-guide  in Neo4j Browser"
exec node dist/src/main.js
