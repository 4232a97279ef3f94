#!/usr/bin/env bash
# Wipes an instance: stops it, then deletes its data/ (databases, the
# password, transaction logs) and logs/. With --purge deletes the whole
# instance directory. The next start.sh begins from an empty database and
# sets NEO4J_PASSWORD as the initial password again.
#
# Env: NEO4J_INSTANCE (default dev)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

purge=false
case "${1:-}" in
  "") ;;
  --purge) purge=true ;;
  *) die "usage: $0 [--purge]" ;;
esac

"${NEO4J_SCRIPTS_DIR}/stop.sh"

# Guard the rm -rf: only ever below var/neo4j/instances/.
case "${NEO4J_INSTANCE_DIR}" in
  "${NEO4J_VAR_DIR}"/instances/?*) ;;
  *) die "refusing to delete ${NEO4J_INSTANCE_DIR}: not under ${NEO4J_VAR_DIR}/instances" ;;
esac
[[ -d "${NEO4J_INSTANCE_DIR}" ]] || { log "nothing to reset (${NEO4J_INSTANCE_DIR} absent)"; exit 0; }

if [[ "${purge}" == true ]]; then
  rm -rf "${NEO4J_INSTANCE_DIR}"
  log "deleted ${NEO4J_INSTANCE_DIR}"
else
  rm -rf "${NEO4J_INSTANCE_DIR}/data" "${NEO4J_INSTANCE_DIR}/logs"
  log "wiped data/ and logs/ of ${NEO4J_INSTANCE_DIR}"
fi
