#!/usr/bin/env bash
# The daemon's decisions/s with a JWT agent against an Interlock-token agent, in one run with
# the same load generator (wrk, bench/daemon/decide.lua, the same runs and policy): the
# issue's target is within 10% (docs/identity.md#performance). The JWT is ES256 from a local
# https issuer (bench/identity/jwks_server.mjs, a private CA made here); after its first
# request every request pays the verified-token cache hit.
# Usage: scripts/bench-identity-daemon.sh [BUILD_DIR] [DURATION] [CONNS] [ROUNDS]
set -euo pipefail
build=${1:-build}
duration=${2:-5s}
conns=${3:-64}
rounds=${4:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/$build/interlock"
[ -x "$bin" ] || bin="$build/interlock"
work=$(mktemp -d /tmp/interlock-bench-identity.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/ca.key" \
  -out "$work/ca.pem" -subj /CN=bench-ca -days 1 -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/idp.key" \
  -out "$work/idp.csr" -subj /CN=127.0.0.1 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$work/ext.cnf"
openssl x509 -req -in "$work/idp.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
  -out "$work/idp.pem" -days 1 -extfile "$work/ext.cnf" 2>/dev/null

mkfifo "$work/idp.in"
node "$root/bench/identity/jwks_server.mjs" "$work/idp.pem" "$work/idp.key" \
  "bench-agent@bench.local" <"$work/idp.in" >"$work/idp.out" 2>"$work/idp.err" &
pids+=($!)
exec 3>"$work/idp.in"  # keeps the issuer's stdin open
for _ in $(seq 100); do [ -s "$work/idp.out" ] && break; sleep 0.1; done
issuer=$(sed -E 's/.*"issuer":"([^"]+)".*/\1/' "$work/idp.out")
jwt=$(sed -E 's/.*"token":"([^"]+)".*/\1/' "$work/idp.out")

store="$work/bench.db"
token=$("$bin" token create --store "$store" --agent bench-agent --policy "$root/bench/daemon/policies" 2>/dev/null)
cat >"$work/interlock.yaml" <<YAML
durability: ${DURABILITY:-full}
identity:
  jwt:
    - issuer: "$issuer"
      audience: "interlock"
      ca_file: "$work/ca.pem"
YAML
"$bin" serve --config "$work/interlock.yaml" --listen 127.0.0.1:0 \
  --policies "$root/bench/daemon/policies" --store "$store" --ready-file "$work/ready.json" >"$work/daemon.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/ready.json" ] && break; sleep 0.1; done
port=$(sed -E 's/.*"port":([0-9]+).*/\1/' "$work/ready.json")
for _ in $(seq 64); do
  curl -s -X POST -H "Authorization: Bearer $jwt" "http://127.0.0.1:$port/v1/runs" |
    sed -E 's/.*"run_id":"([^"]+)".*/\1/'
  echo
done | grep -v '^$' >"$work/runs.txt"
[ "$(wc -l <"$work/runs.txt")" -eq 64 ] || { echo "JWT runs failed: $(cat "$work/daemon.log")"; exit 1; }

echo "durability: ${DURABILITY:-full}; machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; wrk -t2 -c$conns -d $duration; load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %-12s %12s %9s %9s %s\n' round bearer "decisions/s" p50_ms p99_ms errors
for round in $(seq "$rounds"); do
  for who in token jwt; do
    bearer=$token
    [ "$who" = jwt ] && bearer=$jwt
    line=$(KIND=allow INTERLOCK_TOKEN=$bearer RUNS_FILE="$work/runs.txt" \
      wrk -t2 -c"$conns" -d"$duration" -s "$root/bench/daemon/decide.lua" \
      "http://127.0.0.1:$port" | grep RESULT)
    read -r rps p50_ms p99_ms errors non2xx < <(sed -E 's/.*rps=([^ ]+) p50_ms=([^ ]+) p99_ms=([^ ]+) errors=([^ ]+) non2xx=([^ ]+).*/\1 \2 \3 \4 \5/' <<<"$line")
    printf '%-6s %-12s %12s %9s %9s %s\n' "$round" "$who" "$rps" "$p50_ms" "$p99_ms" "$errors/$non2xx"
  done
done
