#!/usr/bin/env bash
# Wall time of the two test commands on a fresh clone (issue 14): scripts/test.sh (the service:
# lint, types, unit, GraphQL, ONNX model and integration tests) and scripts/test-models.sh (the
# PyTorch tests). A fresh clone has no node_modules and no var/, so each command's time includes
# its own set-up (npm ci, Neo4j jars, model bundle, demo data; the PyTorch environment).
#
#   bash bench/fresh-clone-tests.sh [BRANCH]     # writes bench/results/fresh-clone-tests.json
#
# The clone goes to POLYLINK_BENCH_CLONE (default /tmp/polylink-fresh-clone) and runs its
# integration tests on its own Neo4j instance and ports (POLYLINK_TEST_*), so it can run beside a
# development instance. Logs: <clone>.test.log and <clone>.test-models.log.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$(pwd)"
branch="${1:-$(git rev-parse --abbrev-ref HEAD)}"
clone="${POLYLINK_BENCH_CLONE:-/tmp/polylink-fresh-clone}"
rm -rf "${clone}"
git clone --quiet "${repo}" "${clone}" && git -C "${clone}" checkout --quiet "${branch}" || exit 1

export POLYLINK_TEST_NEO4J_INSTANCE="${POLYLINK_TEST_NEO4J_INSTANCE:-fresh-clone}"
export POLYLINK_TEST_BOLT_PORT="${POLYLINK_TEST_BOLT_PORT:-7698}"
export POLYLINK_TEST_HTTP_PORT="${POLYLINK_TEST_HTTP_PORT:-7498}"

started="$(date -u +%FT%TZ)"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
time_command() { # name script -> "name rc seconds"
  local begin end rc
  begin="$(date +%s)"
  (cd "${clone}" && bash "$2") >"${clone}.$1.log" 2>&1
  rc=$?
  end="$(date +%s)"
  echo "$1 ${rc} $((end - begin))"
}
read -r _ test_rc test_s < <(time_command test scripts/test.sh)
read -r _ models_rc models_s < <(time_command test-models scripts/test-models.sh)

mkdir -p bench/results
node - "${started}" "${load_before}" "$(git -C "${clone}" rev-parse HEAD)" \
  "${test_rc}" "${test_s}" "${models_rc}" "${models_s}" \
  "$(du -sm "${clone}/var/pyenv" 2>/dev/null | cut -f1)" \
  "$(du -sm "${clone}/var/ruff-venv" 2>/dev/null | cut -f1)" <<'JS' >bench/results/fresh-clone-tests.json
const os = require('node:os');
const [started, loadBefore, commit, testRc, testS, modelsRc, modelsS, pyenvMb, ruffMb] =
  process.argv.slice(2);
const result = {
  what: 'wall time of the two test commands on a fresh clone, set-up included (bench/fresh-clone-tests.sh)',
  started,
  commit,
  machine: {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAverageAtStart: loadBefore.split(' ').map(Number),
  },
  commands: {
    'scripts/test.sh': { exitCode: Number(testRc), seconds: Number(testS) },
    'scripts/test-models.sh': { exitCode: Number(modelsRc), seconds: Number(modelsS) },
  },
  disk: { 'var/pyenv MiB': Number(pyenvMb) || null, 'var/ruff-venv MiB': Number(ruffMb) || null },
};
console.log(JSON.stringify(result, null, 2));
JS
cat bench/results/fresh-clone-tests.json
