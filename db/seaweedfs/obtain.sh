#!/usr/bin/env bash
# Builds the SeaweedFS server binary (`weed`) from its Go module through the Go module
# proxy into var/seaweedfs/bin/weed-<version>. Idempotent: returns at once when that
# binary exists. A fresh machine needs Go and about 2.5 GB of disk for the module cache;
# the build takes minutes (about 4 on 2 cores).
#
# `go install <module>/weed@<version>` is refused for this module (its go.mod has replace
# directives), so: `go mod download` the module, copy it out of the read-only module
# cache, and `go build ./weed` inside the copy, where the replace directives apply.
#
# Env: SEAWEED_VERSION (default pinned in lib.sh), SEAWEED_OBTAIN_FORCE=1 to rebuild.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

already_built() {
  [[ -x "${SEAWEED_BIN}" && "${SEAWEED_OBTAIN_FORCE:-0}" != 1 ]]
}
if already_built; then
  log "weed ${SEAWEED_VERSION} already built (${SEAWEED_BIN})"
  exit 0
fi

# Serialise concurrent runs, then re-check: the holder may have just finished.
mkdir -p "${SEAWEED_VAR_DIR}/bin"
if command -v flock >/dev/null; then
  exec 9>"${SEAWEED_VAR_DIR}/.obtain.lock"
  flock 9
  if already_built; then
    log "weed ${SEAWEED_VERSION} already built (${SEAWEED_BIN})"
    exit 0
  fi
fi

command -v go >/dev/null || die "go not found (needed to build SeaweedFS from its module; https://go.dev/dl/)"

started=${SECONDS}
work="$(mktemp -d "${SEAWEED_VAR_DIR}/build.XXXXXX")"
trap 'chmod -R u+w "${work}" 2>/dev/null; rm -rf "${work}"' EXIT

log "downloading ${SEAWEED_MODULE}@${SEAWEED_VERSION} through $(go env GOPROXY)"
module_dir="$(go mod download -json "${SEAWEED_MODULE}@${SEAWEED_VERSION}" |
  sed -n 's/^[[:space:]]*"Dir":[[:space:]]*"\(.*\)",\{0,1\}$/\1/p')"
[[ -n "${module_dir}" && -f "${module_dir}/go.mod" ]] || die "go mod download gave no module folder"

cp -R "${module_dir}" "${work}/src"
chmod -R u+w "${work}/src"

log "building weed (go $(go env GOVERSION); minutes on a small machine)"
# -trimpath: no build-machine paths in the binary.
(cd "${work}/src" && go build -trimpath -o "${work}/weed" ./weed) ||
  die "go build ./weed failed for ${SEAWEED_MODULE}@${SEAWEED_VERSION}"

"${work}/weed" version >/dev/null 2>&1 || die "the built weed binary does not run"
mv -f "${work}/weed" "${SEAWEED_BIN}"
log "built ${SEAWEED_BIN} in $((SECONDS - started)) s ($("${SEAWEED_BIN}" version 2>/dev/null | head -n 1))"
