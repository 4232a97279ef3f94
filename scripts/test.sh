#!/usr/bin/env bash
# The test command: sets up, lints and typechecks, runs unit, GraphQL and model (ONNX) tests, then
# starts a throw-away Neo4j (auth off, its own ports and data) and a throw-away SeaweedFS (the S3
# image store, built from its Go module on first use) for the integration tests and stops both
# after. No PyTorch: the Python model tests are scripts/test-models.sh (CI runs both).
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
# SeaweedFS: four loopback ports (and each + 10000 for gRPC), its own data, one bucket.
export SEAWEED_INSTANCE="${POLYLINK_TEST_SEAWEED_INSTANCE:-test}"
export SEAWEED_MASTER_PORT="${POLYLINK_TEST_SEAWEED_MASTER_PORT:-8640}"
export SEAWEED_VOLUME_PORT="${POLYLINK_TEST_SEAWEED_VOLUME_PORT:-8641}"
export SEAWEED_FILER_PORT="${POLYLINK_TEST_SEAWEED_FILER_PORT:-8642}"
export SEAWEED_S3_PORT="${POLYLINK_TEST_SEAWEED_S3_PORT:-8643}"
export SEAWEED_BUCKET=polylink-test

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

echo "== SeaweedFS for the S3 image store (built from its Go module once, then cached in var/seaweedfs)"
bash db/seaweedfs/obtain.sh

echo "== integration tests against a real Neo4j and a real S3 server (the page's browser test included)"
bash db/neo4j/stop.sh >/dev/null 2>&1 || true
bash db/neo4j/reset.sh >/dev/null 2>&1 || true
bash db/seaweedfs/reset.sh >/dev/null 2>&1 || true
trap 'bash db/neo4j/stop.sh || true; bash db/seaweedfs/stop.sh || true' EXIT
bash db/neo4j/start.sh
bash db/seaweedfs/start.sh
npx vitest run --project integration \
  --reporter=default --reporter=json --outputFile.json="${report_dir}/integration.json" || status=$?

echo "== the integration tests that write and serve images, again with the S3 image store"
npx vitest run --project integration-s3 \
  --reporter=default --reporter=json --outputFile.json="${report_dir}/integration-s3.json" || status=$?

node scripts/summarize-test-reports.mjs "${report_dir}"/*.json || status=$?
exit "${status}"
