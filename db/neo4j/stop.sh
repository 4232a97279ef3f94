#!/usr/bin/env bash
# Stops a Neo4j instance started by start.sh, by the pid in its pid file only
# (TERM, up to NEO4J_STOP_TIMEOUT s (default 30), then KILL). Exit 0 if it
# was not running.
#
# Env: NEO4J_INSTANCE (default dev), NEO4J_STOP_TIMEOUT (default 30)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! pid="$(live_pid)"; then
  # A pid file whose process is gone (or is no longer this server) is stale.
  rm -f "${NEO4J_PID_FILE}"
  log "not running"
  exit 0
fi

started=${SECONDS}
log "stopping pid ${pid}"
stop_pid "${pid}"
if pid_alive "${pid}"; then
  die "pid ${pid} survived KILL"
fi
log "stopped in $((SECONDS - started)) s"
