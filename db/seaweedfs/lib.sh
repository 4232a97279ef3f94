# shellcheck shell=bash disable=SC2034  # variables are used by the sourcing scripts
# Shared settings for the db/seaweedfs scripts; sourced, never executed.
# Everything generated lives under <repo>/var (git-ignored).

SEAWEED_SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SEAWEED_SCRIPTS_DIR}/../.." && pwd)"
# shellcheck source=../process-lib.sh
source "${SEAWEED_SCRIPTS_DIR}/../process-lib.sh"

# The version the Go module proxy serves for github.com/seaweedfs/seaweedfs (no tagged
# release resolves through the proxy; issue 15 checked this pseudo-version builds).
SEAWEED_MODULE=github.com/seaweedfs/seaweedfs
SEAWEED_VERSION="${SEAWEED_VERSION:-v0.0.0-20261109003541-7506e5f91cd6}"

SEAWEED_VAR_DIR="${REPO_ROOT}/var/seaweedfs"
# The built binary, one per version; obtain.sh writes it last (rename), so its presence
# means the build finished.
SEAWEED_BIN="${SEAWEED_BIN:-${SEAWEED_VAR_DIR}/bin/weed-${SEAWEED_VERSION}}"

SEAWEED_INSTANCE="${SEAWEED_INSTANCE:-dev}"
# The name becomes a path component (and reset.sh deletes that path).
if [[ ! "${SEAWEED_INSTANCE}" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]]; then
  printf 'SEAWEED_INSTANCE must match [A-Za-z0-9][A-Za-z0-9._-]* (got %s)\n' "${SEAWEED_INSTANCE}" >&2
  exit 1
fi
SEAWEED_INSTANCE_DIR="${SEAWEED_VAR_DIR}/instances/${SEAWEED_INSTANCE}"
SEAWEED_PID_FILE="${SEAWEED_INSTANCE_DIR}/run/weed.pid"
SEAWEED_CONSOLE_LOG="${SEAWEED_INSTANCE_DIR}/logs/console.log"

# Four loopback ports: master, volume, filer, S3 gateway. The master's and the volume's
# gRPC ports are these + 10000 (weed's rule), so keep them below 55536.
SEAWEED_MASTER_PORT="${SEAWEED_MASTER_PORT:-9333}"
SEAWEED_VOLUME_PORT="${SEAWEED_VOLUME_PORT:-8080}"
SEAWEED_FILER_PORT="${SEAWEED_FILER_PORT:-8888}"
SEAWEED_S3_PORT="${SEAWEED_S3_PORT:-8333}"

# The one identity the S3 gateway accepts (written to its s3 config by start.sh). Local
# and throw-away: the server listens on loopback only.
SEAWEED_ACCESS_KEY="${SEAWEED_ACCESS_KEY:-polylink-dev}"
SEAWEED_SECRET_KEY="${SEAWEED_SECRET_KEY:-polylink-dev-secret}"

log() { printf '[seaweedfs:%s] %s\n' "${SEAWEED_INSTANCE}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Pid from the pid file if that process is alive and really is this instance's server
# (guards against pid reuse after a crash), else exit 1.
live_pid() {
  local pid cmdline
  [[ -f "${SEAWEED_PID_FILE}" ]] || return 1
  pid="$(tr -dc '0-9' <"${SEAWEED_PID_FILE}")"
  [[ -n "${pid}" ]] && pid_alive "${pid}" || return 1
  cmdline="$(tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null)" || return 1
  [[ "${cmdline}" == *"-dir=${SEAWEED_INSTANCE_DIR}/data "* ]] || return 1
  printf '%s\n' "${pid}"
}

# TERM, wait up to SEAWEED_STOP_TIMEOUT seconds (default 30), then KILL (db/process-lib.sh).
stop_pid() { stop_process "$1" "${SEAWEED_PID_FILE}" "${SEAWEED_STOP_TIMEOUT:-30}"; }

# A SigV4-signed S3 request with curl (7.75+): method, path (/bucket or /bucket/key), and an
# optional body. Prints the response body; returns 0 on a 2xx, 1 otherwise. The payload hash goes
# in x-amz-content-sha256 (curl signs it but does not send it, and the server needs both); the
# credentials go in on stdin (-K -) so they never show in `ps`.
s3_request() {
  local method="$1" target="$2" body="${3-}" out code
  out="$(printf 'user = "%s:%s"\n' "${SEAWEED_ACCESS_KEY}" "${SEAWEED_SECRET_KEY}" |
    curl -sS --max-time 10 -K - --aws-sigv4 "aws:amz:us-east-1:s3" -X "${method}" \
      -H "x-amz-content-sha256: $(printf '%s' "${body}" | sha256sum | cut -d' ' -f1)" \
      ${body:+--data-binary "${body}"} \
      -w '\n%{http_code}' "http://127.0.0.1:${SEAWEED_S3_PORT}${target}" 2>/dev/null)" || return 1
  code="${out##*$'\n'}"
  printf '%s\n' "${out%$'\n'*}"
  [[ "${code}" == 2?? ]]
}

# Creates a bucket; one this identity already owns counts as created.
s3_create_bucket() {
  local out
  out="$(s3_request PUT "/$1")" && return 0
  [[ "${out}" == *BucketAlreadyOwnedByYou* ]]
}
