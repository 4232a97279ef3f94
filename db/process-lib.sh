# shellcheck shell=bash
# Process helpers shared by the local servers' scripts (db/neo4j, db/seaweedfs); sourced by their
# lib.sh, never executed. The sourcing script defines log().

# kill -0 alone is fooled by zombies: the server is re-parented when start.sh
# exits, and in containers PID 1 may never reap it.
pid_alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state="$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)"
  [[ "${state}" != Z ]]
}

# True when something accepts TCP connections on 127.0.0.1:<port>.
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# stop_process PID PID_FILE TIMEOUT_S: TERM, wait up to TIMEOUT_S seconds, then KILL; removes the
# pid file. Only ever signals the given pid, never anything found by name.
stop_process() {
  local pid="$1" pid_file="$2" timeout="$3" deadline
  deadline=$((SECONDS + timeout))
  kill -TERM "${pid}" 2>/dev/null || { rm -f "${pid_file}"; return 0; }
  while pid_alive "${pid}"; do
    if ((SECONDS >= deadline)); then
      log "pid ${pid} still alive after ${timeout} s; sending KILL"
      kill -KILL "${pid}" 2>/dev/null || true
      # KILL is asynchronous; give the kernel a moment to tear it down.
      for _ in 1 2 3 4 5 6 7 8 9 10; do
        pid_alive "${pid}" || break
        sleep 0.5
      done
      break
    fi
    sleep 0.25
  done
  rm -f "${pid_file}"
}

# abort_start MESSAGE CONSOLE_LOG PID_FILE LAUNCHER_PID: a start that failed: say why, show the
# console log's tail, stop the server (or its launcher, when the server never wrote a pid), remove
# the pid file and exit 1. The sourcing script defines live_pid and stop_pid.
abort_start() {
  local message="$1" console_log="$2" pid_file="$3" launcher="$4" victim
  log "ERROR: ${message}; last lines of ${console_log}:"
  tail -n 40 "${console_log}" >&2 || true
  if victim="$(live_pid)"; then
    stop_pid "${victim}"
  elif pid_alive "${launcher}"; then
    stop_pid "${launcher}"
  fi
  rm -f "${pid_file}"
  exit 1
}
