# shellcheck shell=bash disable=SC2034  # variables are used by the sourcing scripts
# Shared settings for the db/neo4j scripts; sourced, never executed.
# Everything generated lives under <repo>/var (git-ignored).

NEO4J_SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${NEO4J_SCRIPTS_DIR}/../.." && pwd)"
# shellcheck source=../process-lib.sh
source "${NEO4J_SCRIPTS_DIR}/../process-lib.sh"

# 5.26 is the LTS line that still runs on Java 17 (every 2025.x needs Java 21).
# 5.26.30 is the newest 5.26.x patch that resolves completely from Maven
# Central: 5.26.31's assembler POM is there but its neo4j-push-to-cloud and
# cypher-shell artifacts are not (checked when pinning); 5.26.32+ do not exist.
NEO4J_VERSION="${NEO4J_VERSION:-5.26.30}"
# Newest Browser jar on Maven Central.
NEO4J_BROWSER_VERSION="${NEO4J_BROWSER_VERSION:-5.24.0}"

NEO4J_VAR_DIR="${REPO_ROOT}/var/neo4j"
NEO4J_DIST_DIR="${NEO4J_VAR_DIR}/dist-${NEO4J_VERSION}"
# Written last by obtain.sh; its presence means the dist is complete.
NEO4J_DIST_MARKER="${NEO4J_DIST_DIR}/.obtained"

NEO4J_INSTANCE="${NEO4J_INSTANCE:-dev}"
# The name becomes a path component (and reset.sh deletes that path).
if [[ ! "${NEO4J_INSTANCE}" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]]; then
  printf 'NEO4J_INSTANCE must match [A-Za-z0-9][A-Za-z0-9._-]* (got %s)\n' "${NEO4J_INSTANCE}" >&2
  exit 1
fi
# NEO4J_INSTANCE_DIR may override the whole path (reset.sh only deletes under var/).
NEO4J_INSTANCE_DIR="${NEO4J_INSTANCE_DIR:-${NEO4J_VAR_DIR}/instances/${NEO4J_INSTANCE}}"
NEO4J_PID_FILE="${NEO4J_INSTANCE_DIR}/run/neo4j.pid"
NEO4J_CONSOLE_LOG="${NEO4J_INSTANCE_DIR}/logs/console.log"

NEO4J_BOLT_PORT="${NEO4J_BOLT_PORT:-7687}"
NEO4J_HTTP_PORT="${NEO4J_HTTP_PORT:-7474}"
NEO4J_AUTH_ENABLED="${NEO4J_AUTH_ENABLED:-true}"
# Always the built-in admin user: it is the one set-initial-password sets, and
# NEO4J_USER may name the app's own user.
NEO4J_ADMIN_USER=neo4j

log() { printf '[neo4j:%s] %s\n' "${NEO4J_INSTANCE}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Normalise true/false-ish values so conf and curl logic agree.
auth_enabled() {
  case "${NEO4J_AUTH_ENABLED,,}" in
    true | 1 | yes | on) return 0 ;;
    false | 0 | no | off) return 1 ;;
    *) die "NEO4J_AUTH_ENABLED must be true or false (got '${NEO4J_AUTH_ENABLED}')" ;;
  esac
}

# Pid from the pid file if that process is alive and really is this
# instance's server (guards against pid reuse after a crash), else exit 1.
live_pid() {
  local pid cmdline
  [[ -f "${NEO4J_PID_FILE}" ]] || return 1
  pid="$(tr -dc '0-9' <"${NEO4J_PID_FILE}")"
  [[ -n "${pid}" ]] && pid_alive "${pid}" || return 1
  cmdline="$(tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null)" || return 1
  [[ "${cmdline}" == *"--home-dir=${NEO4J_INSTANCE_DIR} "* ]] || return 1
  printf '%s\n' "${pid}"
}

# Minimal JSON string escaping (no jq dependency): \ " and control chars.
json_string() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//$'\n'/\\n}"
  s="${s//$'\r'/\\r}"
  s="${s//$'\t'/\\t}"
  printf '"%s"' "${s}"
}

# Runs a Cypher statement through the HTTP API on database "neo4j" and
# prints the JSON response. Returns 0 on success, 2 when the server rejects
# the credentials (401/403: retrying will not help), 1 otherwise (not up yet,
# database unavailable, Cypher error: errors sit in the JSON of a 200).
http_query() {
  local statement="$1" body out code header=""
  body="{\"statements\":[{\"statement\":$(json_string "${statement}")}]}"
  if auth_enabled; then
    header="Authorization: Basic $(printf '%s:%s' "${NEO4J_ADMIN_USER}" "${NEO4J_PASSWORD:-}" | base64 -w0)"
  fi
  # The auth header goes in on stdin (-H @-) so the password never shows in `ps`.
  out="$(printf '%s\n' "${header}" | curl -sS --max-time 10 -H @- \
    -H 'Content-Type: application/json' -H 'Accept: application/json' \
    -w '\n%{http_code}' -d "${body}" \
    "http://127.0.0.1:${NEO4J_HTTP_PORT}/db/neo4j/tx/commit" 2>/dev/null)" || return 1
  code="${out##*$'\n'}"
  printf '%s\n' "${out%$'\n'*}"
  case "${code}" in
    200) [[ "${out}" == *'"errors":[]'* ]] ;;
    401 | 403) return 2 ;;
    *) return 1 ;;
  esac
}

# TERM, wait up to NEO4J_STOP_TIMEOUT seconds (default 30), then KILL (db/process-lib.sh).
stop_pid() { stop_process "$1" "${NEO4J_PID_FILE}" "${NEO4J_STOP_TIMEOUT:-30}"; }

# Ports of an existing instance come from its conf, so status/stop/reset
# work without repeating the env used by start.sh.
load_instance_ports() {
  local conf="${NEO4J_INSTANCE_DIR}/conf/neo4j.conf" v
  [[ -f "${conf}" ]] || return 0
  v="$(sed -n 's/^server\.http\.listen_address=.*:\([0-9]\+\)$/\1/p' "${conf}")"
  [[ -n "${v}" ]] && NEO4J_HTTP_PORT="${v}"
  v="$(sed -n 's/^server\.bolt\.listen_address=.*:\([0-9]\+\)$/\1/p' "${conf}")"
  [[ -n "${v}" ]] && NEO4J_BOLT_PORT="${v}"
  v="$(sed -n 's/^dbms\.security\.auth_enabled=\(.*\)$/\1/p' "${conf}")"
  [[ -n "${v}" ]] && NEO4J_AUTH_ENABLED="${v}"
  return 0
}
