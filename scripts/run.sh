#!/usr/bin/env bash
# `make run`: the main job on the embedded default. Checks the example policies, then
# plays the seed support agent's scripted run through `interlock decide`, then serves the
# API on 127.0.0.1:PORT. Usage: scripts/run.sh [BUILD_DIR] [PORT] (PORT also from the
# environment; default 8181), e.g. `make run PORT=9090`.
set -euo pipefail
build=${1:-build}
port=${2:-${PORT:-8181}}
if ! [[ "$port" =~ ^[0-9]{1,5}$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
  echo "run.sh: PORT must be a number from 1 to 65535, got '$port'" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$(cd "$build" && pwd)/interlock"
cd "$root"
"$root/scripts/demo.sh" "$bin"
echo
echo "== interlock serve: the daemon on 127.0.0.1:$port (examples/policies, var/interlock.db)"
store=var/interlock.db
mkdir -p -m 700 var  # the store (0600) and its keys are private whatever the umask
agent_token=$("$bin" token create --store "$store" --agent support-agent-v2 --policy examples/policies 2>/dev/null)
admin_token=$("$bin" token create --store "$store" --admin operator 2>/dev/null)
reviewer_token=$("$bin" token create --store "$store" --reviewer reviewer 2>/dev/null)
cat <<EOT
   Tokens (shown once; only their hashes are stored):
     agent support-agent-v2: $agent_token
     admin operator:         $admin_token
     reviewer reviewer:      $reviewer_token
   In another terminal:
     export TOKEN=$agent_token
     RUN=\$(curl -s -X POST -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:$port/v1/runs | sed -E 's/.*"run_id":"([^"]+)".*/\1/')
     curl -s -H "Authorization: Bearer \$TOKEN" -d '{"tool":"read_customer_record","args":{"fields":["customer_id"]}}' http://127.0.0.1:$port/v1/runs/\$RUN/calls
     curl -s -H "Authorization: Bearer \$TOKEN" -d '{"tool":"delete_customer_record"}' http://127.0.0.1:$port/v1/runs/\$RUN/calls
     curl -s -H "Authorization: Bearer \$TOKEN" -d '{"tool":"send_customer_email","args":{"customer_id":"C-1","body":"hi"}}' http://127.0.0.1:$port/v1/runs/\$RUN/calls
   That last call needs a human: it answers approval_required with a call_id. Wait on it with
     curl -s -H "Authorization: Bearer \$TOKEN" "http://127.0.0.1:$port/v1/calls/<call_id>?wait=60"
   while a reviewer opens http://127.0.0.1:$port/ui/ (sign in with the reviewer token) and
   approves or denies it (or: INTERLOCK_TOKEN=<reviewer token> $bin approvals list).
     curl -s http://127.0.0.1:$port/metrics
   The seed's support agent through the client libraries (docs/clients.md):
     export INTERLOCK_URL=http://127.0.0.1:$port INTERLOCK_TOKEN=$agent_token
     python3 examples/agents/python/support_agent.py
     (cd examples/agents/typescript && npm ci && npm start)
   The operator console: http://127.0.0.1:$port/ui/runs (sign in with the admin token).
   Kill switch, straight into the store (works even when the port does not answer):
     $bin kill engage --store $store --reason "stop everything"
   Stop with Ctrl-C (SIGINT: in-flight requests finish, the store closes cleanly).
EOT
exec "$bin" serve --listen "127.0.0.1:$port" --policies examples/policies --store "$store"
