#!/usr/bin/env bash
# Starts a local SeaweedFS (master, volume server, filer and S3 gateway in one `weed server`
# process) on loopback, and waits until the S3 gateway stores and returns an object.
#
# Env:
#   SEAWEED_INSTANCE       instance name (default dev) -> var/seaweedfs/instances/<name>
#   SEAWEED_MASTER_PORT    default 9333   SEAWEED_VOLUME_PORT  default 8080
#   SEAWEED_FILER_PORT     default 8888   SEAWEED_S3_PORT      default 8333
#                          (weed also listens on each port + 10000 for gRPC)
#   SEAWEED_ACCESS_KEY, SEAWEED_SECRET_KEY   the S3 identity (defaults in lib.sh)
#   SEAWEED_BUCKET         a bucket to create once ready (default: none)
#   SEAWEED_START_TIMEOUT  seconds to wait for readiness (default 90)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SEAWEED_START_TIMEOUT="${SEAWEED_START_TIMEOUT:-90}"

if pid="$(live_pid)"; then
  log "already running (pid ${pid}, ${SEAWEED_INSTANCE_DIR})"
  exit 0
fi

ports=("${SEAWEED_MASTER_PORT}" "${SEAWEED_VOLUME_PORT}" "${SEAWEED_FILER_PORT}" "${SEAWEED_S3_PORT}")
for port in "${ports[@]}"; do
  [[ "${port}" =~ ^[0-9]+$ ]] && ((port > 0 && port < 55536)) ||
    die "SeaweedFS ports must be numbers below 55536 (gRPC uses port + 10000), got '${port}'"
done
[[ "${SEAWEED_START_TIMEOUT}" =~ ^[0-9]+$ ]] || die "SEAWEED_START_TIMEOUT must be a number of seconds"
# A server already on these ports would answer the readiness probe and make a failed start
# look healthy.
for port in "${ports[@]}"; do
  for p in "${port}" "$((port + 10000))"; do
    port_in_use "${p}" && die "port ${p} on 127.0.0.1 is in use (another instance? set SEAWEED_*_PORT)"
  done
done

"${SEAWEED_SCRIPTS_DIR}/obtain.sh"

inst="${SEAWEED_INSTANCE_DIR}"
mkdir -p "${inst}"/{data,logs,run,conf}
rm -f "${SEAWEED_PID_FILE}" # stale: live_pid said no live server owns it

# The S3 gateway's identities; rewritten on each start so the keys follow the environment.
# Written without a trace in `ps` (the file, not a flag, carries the secret).
umask_before="$(umask)"
umask 077
cat >"${inst}/conf/s3.json" <<JSON
{
  "identities": [
    {
      "name": "polylink",
      "credentials": [{ "accessKey": "${SEAWEED_ACCESS_KEY}", "secretKey": "${SEAWEED_SECRET_KEY}" }],
      "actions": ["Admin", "Read", "List", "Tagging", "Write"]
    }
  ]
}
JSON
umask "${umask_before}"

[[ -f "${SEAWEED_CONSOLE_LOG}" ]] && mv -f "${SEAWEED_CONSOLE_LOG}" "${SEAWEED_CONSOLE_LOG}.prev"

started=${SECONDS}
log "starting weed ${SEAWEED_VERSION} in ${inst} (S3 on 127.0.0.1:${SEAWEED_S3_PORT})"
# Loopback only (-ip and -ip.bind), every port explicit (the Iceberg and Lance catalogs, on fixed
# default ports, off); small volumes, since tests store kilobytes. -dir comes last so live_pid
# can recognise this instance's process by it.
# shellcheck disable=SC2016  # $$/$1 are for the inner bash
setsid bash -c 'printf "%s\n" "$$" >"$1"; shift; exec "$@"' weed-launch "${SEAWEED_PID_FILE}" \
  "${SEAWEED_BIN}" server \
  -ip=127.0.0.1 -ip.bind=127.0.0.1 \
  -master.port="${SEAWEED_MASTER_PORT}" -master.port.grpc="$((SEAWEED_MASTER_PORT + 10000))" \
  -master.volumeSizeLimitMB=64 \
  -volume.port="${SEAWEED_VOLUME_PORT}" -volume.port.grpc="$((SEAWEED_VOLUME_PORT + 10000))" \
  -volume.max=32 -volume.preStopSeconds=0 \
  -filer -filer.port="${SEAWEED_FILER_PORT}" -filer.port.grpc="$((SEAWEED_FILER_PORT + 10000))" \
  -s3 -s3.port="${SEAWEED_S3_PORT}" -s3.port.grpc="$((SEAWEED_S3_PORT + 10000))" \
  -s3.config="${inst}/conf/s3.json" -s3.iam=false -s3.port.iceberg=0 -s3.port.lance=0 \
  -dir="${inst}/data" \
  </dev/null >"${SEAWEED_CONSOLE_LOG}" 2>&1 &
launcher=$!

fail_start() { abort_start "$1" "${SEAWEED_CONSOLE_LOG}" "${SEAWEED_PID_FILE}" "${launcher}"; }

# Ready means an object goes in and comes out again: the S3 port opens before the master has
# a volume server to write to.
probe_bucket="polylink-readiness"
probe_key="/${probe_bucket}/probe-$$"
pid=""
while true; do
  elapsed=$((SECONDS - started))
  if [[ -z "${pid}" && -s "${SEAWEED_PID_FILE}" ]]; then
    pid="$(tr -dc '0-9' <"${SEAWEED_PID_FILE}")"
  fi
  if [[ -n "${pid}" ]]; then
    pid_alive "${pid}" || fail_start "server process ${pid} exited during startup"
  elif ((elapsed >= 10)) || { ((elapsed >= 2)) && ! pid_alive "${launcher}"; }; then
    fail_start "server process did not start"
  fi
  if s3_create_bucket "${probe_bucket}" &&
    s3_request PUT "${probe_key}" ready >/dev/null &&
    [[ "$(s3_request GET "${probe_key}")" == ready ]]; then
    s3_request DELETE "${probe_key}" >/dev/null || true
    break
  fi
  ((elapsed >= SEAWEED_START_TIMEOUT)) && fail_start "S3 did not store an object within ${SEAWEED_START_TIMEOUT} s"
  sleep 1
done

if [[ -n "${SEAWEED_BUCKET:-}" ]]; then
  s3_create_bucket "${SEAWEED_BUCKET}" || fail_start "could not create bucket ${SEAWEED_BUCKET}"
fi

cat <<MSG
SeaweedFS instance '${SEAWEED_INSTANCE}' ready in $((SECONDS - started)) s (pid ${pid})
  S3 endpoint: http://127.0.0.1:${SEAWEED_S3_PORT} (path-style; region any, e.g. us-east-1)
  Access key:  ${SEAWEED_ACCESS_KEY} (secret in SEAWEED_SECRET_KEY)
  Bucket:      ${SEAWEED_BUCKET:-(none created; set SEAWEED_BUCKET)}
  Data, logs:  ${inst}/data, ${inst}/logs/console.log
MSG
