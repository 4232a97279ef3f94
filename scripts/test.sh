#!/usr/bin/env bash
# The test command: sets up, lints and typechecks, runs unit, GraphQL and model (ONNX) tests, then
# starts a throw-away Neo4j (auth off, its own ports and data) for the integration tests and stops
# it after. No PyTorch: the Python model tests are scripts/test-models.sh (CI runs both).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh

echo "== lint (with the generated GraphQL types' staleness check) and typecheck"
npm run --silent lint
npm run --silent typecheck

echo "== Python lint (ruff alone, pinned; configuration in pyproject.toml)"
bash scripts/setup-ruff.sh
var/ruff-venv/bin/ruff check models

export NEO4J_INSTANCE="${POLYLINK_TEST_NEO4J_INSTANCE:-test}"
export NEO4J_AUTH_ENABLED=false
export NEO4J_BOLT_PORT="${POLYLINK_TEST_BOLT_PORT:-7688}"
export NEO4J_HTTP_PORT="${POLYLINK_TEST_HTTP_PORT:-7475}"
export NEO4J_URI="bolt://127.0.0.1:${NEO4J_BOLT_PORT}"
export NEO4J_PASSWORD=""
export NODE_ENV=test

report_dir=var/test-reports
mkdir -p "${report_dir}"
rm -f "${report_dir}"/*.json

echo "== unit, GraphQL and model tests"
status=0
npx vitest run --project unit --project graphql --project models \
  --reporter=default --reporter=json --outputFile.json="${report_dir}/fast.json" || status=$?

echo "== real entity data for the integration tests (Debian freeciv-data, tuxpaint-stamps-default)"
npx tsx db/seed/freeciv-nations.ts --out var/demo/freeciv >/dev/null
npx tsx db/seed/tuxpaint-stamps.ts --out var/demo/tuxpaint >/dev/null

echo "== the browser the page's end-to-end test drives (Debian's chromium)"
bash scripts/setup-browser.sh >/dev/null

echo "== integration tests against a real Neo4j (the page's browser test included)"
bash db/neo4j/stop.sh >/dev/null 2>&1 || true
bash db/neo4j/reset.sh >/dev/null 2>&1 || true
trap 'bash db/neo4j/stop.sh || true' EXIT
bash db/neo4j/start.sh
npx vitest run --project integration \
  --reporter=default --reporter=json --outputFile.json="${report_dir}/integration.json" || status=$?

node scripts/summarize-test-reports.mjs "${report_dir}"/*.json || status=$?
exit "${status}"
