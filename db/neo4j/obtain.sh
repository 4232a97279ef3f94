#!/usr/bin/env bash
# Obtains the Neo4j Community server jars from Maven Central into
# var/neo4j/dist-<version>/lib (Central has no server tarball; the POM-only
# assembler artifact's runtime dependencies are exactly the dist's lib/).
# Idempotent: returns at once when the dist's marker file exists.
#
# Env: NEO4J_VERSION (default pinned in lib.sh), NEO4J_BROWSER_VERSION,
#      NEO4J_OBTAIN_FORCE=1 to rebuild the dist folder.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ -f "${NEO4J_DIST_MARKER}" && "${NEO4J_OBTAIN_FORCE:-0}" != 1 ]]; then
  log "Neo4j ${NEO4J_VERSION} already obtained in ${NEO4J_DIST_DIR}"
  exit 0
fi

# Serialise concurrent runs (e.g. parallel test jobs calling start.sh), then
# re-check: the run holding the lock may have just finished the dist.
mkdir -p "${NEO4J_VAR_DIR}"
if command -v flock >/dev/null; then
  exec 9>"${NEO4J_VAR_DIR}/.obtain.lock"
  flock 9
  if [[ -f "${NEO4J_DIST_MARKER}" && "${NEO4J_OBTAIN_FORCE:-0}" != 1 ]]; then
    log "Neo4j ${NEO4J_VERSION} already obtained in ${NEO4J_DIST_DIR}"
    exit 0
  fi
fi

command -v mvn >/dev/null || die "mvn not found (needed to resolve the jars from Maven Central)"

# Pinned so the flags below mean the same on any Maven install.
readonly DEP_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
readonly STANDALONE="org.neo4j.assembly:neo4j-community-standalone:${NEO4J_VERSION}:pom"

started=${SECONDS}
# Build in a staging folder and rename at the end, so an interrupted run
# never leaves a half-filled dist that looks complete.
staging="${NEO4J_DIST_DIR}.partial"
rm -rf "${staging}"
mkdir -p "${staging}/lib"

mvn_log="${NEO4J_VAR_DIR}/obtain-${NEO4J_VERSION}.mvn.log"
# Maven's own output goes to a log (even -q -B prints colour resets); shown on failure.
run_mvn() {
  mvn -q -B -Dstyle.color=never -f "${NEO4J_SCRIPTS_DIR}/pom.xml" \
    -Dneo4j.version="${NEO4J_VERSION}" \
    -Dneo4j.browser.version="${NEO4J_BROWSER_VERSION}" \
    "$@" >>"${mvn_log}" 2>&1 || {
    tail -n 30 "${mvn_log}" >&2
    die "Maven could not resolve Neo4j ${NEO4J_VERSION} (full log: ${mvn_log}). Maven Central sometimes lacks artifacts of the newest patch; the pinned default in lib.sh is known to resolve."
  }
}

log "resolving Neo4j ${NEO4J_VERSION} + Browser ${NEO4J_BROWSER_VERSION} from Maven Central"
: >"${mvn_log}"
run_mvn "${DEP_PLUGIN}:copy-dependencies" \
  -DincludeScope=runtime -DexcludeTypes=pom \
  -DoutputDirectory="${staging}/lib"
# Keep the assembler POM: start.sh reads the server main class from it.
run_mvn "${DEP_PLUGIN}:copy" -Dartifact="${STANDALONE}" -DoutputDirectory="${staging}"

shopt -s nullglob
jars=("${staging}"/lib/*.jar)
shopt -u nullglob
# The real 5.26 dist has well over 100 jars; far fewer means a broken resolve.
((${#jars[@]} > 100)) || die "only ${#jars[@]} jars resolved into ${staging}/lib"
compgen -G "${staging}/lib/neo4j-browser-*.jar" >/dev/null || die "Browser jar missing"
if compgen -G "${staging}/lib/neo4j-genai-plugin-*.jar" >/dev/null ||
  compgen -G "${staging}/lib/netty-tcnative-[0-9]*.jar" >/dev/null; then
  die "excluded jars (genai plugin / netty-tcnative natives) slipped into lib"
fi

main_class="$(sed -n 's:.*<neo4j.mainClass>\(.*\)</neo4j.mainClass>.*:\1:p' \
  "${staging}/neo4j-community-standalone-${NEO4J_VERSION}.pom")"
[[ -n "${main_class}" ]] || die "neo4j.mainClass not found in the assembler POM"
printf '%s\n' "${main_class}" >"${staging}/main-class"

printf 'version=%s\nbrowser=%s\njars=%s\nmainClass=%s\n' \
  "${NEO4J_VERSION}" "${NEO4J_BROWSER_VERSION}" "${#jars[@]}" "${main_class}" \
  >"${staging}/.obtained"

rm -rf "${NEO4J_DIST_DIR}"
mv "${staging}" "${NEO4J_DIST_DIR}"
log "obtained ${#jars[@]} jars into ${NEO4J_DIST_DIR}/lib in $((SECONDS - started)) s (main class ${main_class})"
