#!/usr/bin/env bash
# Runs the commands of docs/tutorial.md, so the tutorial cannot rot: every ```sh block, in
# order, in one bash with `set -euo pipefail` (a failing command fails the test), except a
# block preceded by the line `<!-- tutorial-test: skip -->` (building from source, which
# the test's own build stands for). Then checks that the outcomes the tutorial shows came
# out (the expected strings below).
# Hermetic: HOME is a temporary directory (the tutorial works in ~/first-agent), the
# daemon listens on 127.0.0.1 port 0 (its --ready-file says which port; the tutorial's
# 127.0.0.1:8282 is rewritten to it), every process the tutorial starts is in this
# script's own session and killed at the end, and the whole run is bounded.
# Usage: run_tutorial.sh BUILD_DIR TUTORIAL_MD
set -euo pipefail
build=$(cd "$1" && pwd)
tutorial=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/interlock-tutorial-XXXXXX")
pgid=""
cleanup() {
  if [ -n "$pgid" ]; then kill -KILL -- "-$pgid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# The runnable blocks, with the serve line made hermetic.
awk '
  /^<!-- tutorial-test: skip -->$/ { skip = 1; next }
  /^```sh$/ { if (!skip) run = 1; skip = 0; next }
  /^```/ { run = 0; skip = 0; next }
  run { print }
' "$tutorial" >"$tmp/blocks.sh"
if ! grep -q '^interlock serve --listen 127.0.0.1:8282 ' "$tmp/blocks.sh"; then
  echo "run_tutorial.sh: no 'interlock serve --listen 127.0.0.1:8282 ...' line in $tutorial" >&2
  exit 1
fi
{
  echo 'set -euo pipefail'
  echo 'umask 022  # the usual default outside a unit: the store must be private anyway'
  echo "export PATH='$build':\"\$PATH\" HOME='$tmp/home'"
  echo 'wait_ready() { for _ in $(seq 200); do [ -s "$1" ] && break; sleep 0.1; done;'
  echo '  sed -E "s/.*\"port\":([0-9]+).*/\\1/" "$1"; }'
  sed -E \
    -e 's|^interlock serve --listen 127\.0\.0\.1:8282 (.*)$|interlock serve --ready-file "$HOME/serve.ready" --listen 127.0.0.1:0 \1\nTUTORIAL_PORT=$(wait_ready "$HOME/serve.ready")|' \
    -e 's|127\.0\.0\.1:8282|127.0.0.1:${TUTORIAL_PORT}|g' "$tmp/blocks.sh"
} >"$tmp/tutorial.sh"
mkdir -p "$tmp/home"

# Its own session (setsid runs in place: a background job is no group leader), bounded.
setsid timeout -k 5 240 bash "$tmp/tutorial.sh" >"$tmp/out.txt" 2>&1 &
pgid=$!
status=0
wait "$pgid" || status=$?
if [ "$status" -ne 0 ]; then
  echo "run_tutorial.sh: the tutorial's commands failed (exit $status); the script:" >&2
  cat -n "$tmp/tutorial.sh" >&2
  echo "--- its output:" >&2
  cat "$tmp/out.txt" >&2
  exit 1
fi

# What the tutorial says each step shows.
missing=0
while IFS= read -r want; do
  if ! grep -qF -- "$want" "$tmp/out.txt"; then
    echo "run_tutorial.sh: expected in the output: $want" >&2
    missing=1
  fi
done <<'WANT'
ok: 1 policy (ops-agent), 0 error(s), 0 warning(s)
interlock: 1 agent policies, store state/interlock.db
  agent     ops-agent
"decision":"allow","code":"ALLOWED","reason":"tool \"read_ticket\" is allowed"
"decision":"deny","code":"TOOL_BLOCKED","reason":"tool \"delete_database\" is blocked
"decision":"approval_required","code":"APPROVAL_REQUIRED","reason":"tool \"refund_order\" is irreversible
pending  ops-agent  refund_order
state: granted
"decision":"allow","code":"ALLOWED","reason":"approved by rita"
reviewer rita: customer confirmed by phone
output {"refund_id":"R-1"}
ok: 12 records
kill switch ENGAGED: agent ops-agent
"decision":"deny","code":"KILL_SWITCH"
kill switch released: agent ops-agent
ok   store state/interlock.db opens read-only
WANT
if [ "$missing" -ne 0 ]; then
  echo "--- the output:" >&2
  cat "$tmp/out.txt" >&2
  exit 1
fi
# What the tutorial leaves passes `interlock doctor` (its last step): the store and its
# keys private whatever the umask, nothing FAILed.
if grep -q '^FAIL ' "$tmp/out.txt" ||
  ! grep -qE '^ok   store state/interlock\.db opens read-only \(schema [0-9]+\), owned by .*, private$' "$tmp/out.txt"; then
  echo "run_tutorial.sh: interlock doctor does not pass what the tutorial left:" >&2
  grep -E '^(ok|warn|FAIL) ' "$tmp/out.txt" >&2 || true
  exit 1
fi
echo "run_tutorial.sh: every command of $tutorial ran and showed what it says"
