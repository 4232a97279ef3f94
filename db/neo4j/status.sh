#!/usr/bin/env bash
# Reports whether a Neo4j instance runs and whether database "neo4j" answers.
# Exit 0: running and answering; 1: not running; 2: running, not answering.
#
# Env: NEO4J_INSTANCE (default dev); NEO4J_PASSWORD to test a real query when
#      the instance has auth on (ports and auth are read from its conf).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
load_instance_ports

if ! pid="$(live_pid)"; then
  echo "instance '${NEO4J_INSTANCE}': not running"
  exit 1
fi

where="pid ${pid}, bolt://127.0.0.1:${NEO4J_BOLT_PORT}, http://127.0.0.1:${NEO4J_HTTP_PORT}/browser/"
if auth_enabled && [[ -z "${NEO4J_PASSWORD:-}" ]]; then
  # Without the password only the unauthenticated discovery endpoint is usable.
  if curl -fsS --max-time 5 -o /dev/null "http://127.0.0.1:${NEO4J_HTTP_PORT}/"; then
    echo "instance '${NEO4J_INSTANCE}': running (${where}); HTTP up (set NEO4J_PASSWORD to test a query)"
    exit 0
  fi
  echo "instance '${NEO4J_INSTANCE}': running (${where}) but HTTP does not answer"
  exit 2
fi

rc=0
http_query 'RETURN 1 AS ok' >/dev/null || rc=$?
case "${rc}" in
  0) echo "instance '${NEO4J_INSTANCE}': running (${where}); database neo4j answers" ;;
  2) echo "instance '${NEO4J_INSTANCE}': running (${where}); credentials rejected" && exit 2 ;;
  *) echo "instance '${NEO4J_INSTANCE}': running (${where}); database neo4j does not answer" && exit 2 ;;
esac
