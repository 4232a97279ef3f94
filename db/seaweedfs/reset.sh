#!/usr/bin/env bash
# Wipes an instance: stops it, then deletes its data/ and logs/ (every bucket and object). The
# next start.sh begins empty.
#
# Env: SEAWEED_INSTANCE (default dev)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"${SEAWEED_SCRIPTS_DIR}/stop.sh"

# Guard the rm -rf: only ever below var/seaweedfs/instances/.
case "${SEAWEED_INSTANCE_DIR}" in
  "${SEAWEED_VAR_DIR}"/instances/?*) ;;
  *) die "refusing to delete ${SEAWEED_INSTANCE_DIR}: not under ${SEAWEED_VAR_DIR}/instances" ;;
esac
[[ -d "${SEAWEED_INSTANCE_DIR}" ]] || { log "nothing to reset (${SEAWEED_INSTANCE_DIR} absent)"; exit 0; }
rm -rf "${SEAWEED_INSTANCE_DIR}/data" "${SEAWEED_INSTANCE_DIR}/logs"
log "wiped data/ and logs/ of ${SEAWEED_INSTANCE_DIR}"
