#!/usr/bin/env bash
# Stops a SeaweedFS instance started by start.sh, by the pid in its pid file only (TERM, up to
# SEAWEED_STOP_TIMEOUT s (default 30), then KILL). Exit 0 if it was not running.
#
# Env: SEAWEED_INSTANCE (default dev), SEAWEED_STOP_TIMEOUT
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! pid="$(live_pid)"; then
  rm -f "${SEAWEED_PID_FILE}"
  log "not running"
  exit 0
fi

started=${SECONDS}
log "stopping pid ${pid}"
stop_pid "${pid}"
pid_alive "${pid}" && die "pid ${pid} survived KILL"
log "stopped in $((SECONDS - started)) s"
