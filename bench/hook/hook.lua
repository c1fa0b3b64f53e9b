-- wrk script for bench/hook/bench-hook.sh. MODE (env) picks what each request is:
--   hook    POST /v1/hooks/claude-code as Claude Code sends a PreToolUse
--           (tests/fixtures/claude_code_http/pre_tool_use_read.json): every request a new
--           tool use (its own tool_use_id, so nothing is replayed), SESSIONS sessions
--           (default 16) rotating per thread;
--   calls   the same call through the plain API, POST /v1/runs/$RUN_ID/calls;
--   healthz GET /healthz (the daemon's empty handler: the floor).
-- Env: INTERLOCK_TOKEN. Prints one RESULT line; `wrong` counts answers that are not 200
-- with the expected allow.
local mode = os.getenv("MODE") or "hook"
local token = os.getenv("INTERLOCK_TOKEN") or ""
local sessions = tonumber(os.getenv("SESSIONS") or "16")
local run_id = os.getenv("RUN_ID") or ""
thread_no = 0  -- set per thread by setup()
bad = 0        -- per thread, summed in done()
local n = 0
local threads = {}
local headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}
local want = ({hook = '"permissionDecision":"allow"', calls = '"code":"ALLOWED"', healthz = ""})[mode]

function setup(thread)
  thread:set("thread_no", #threads + 1)
  table.insert(threads, thread)
end

function request()
  n = n + 1
  if mode == "healthz" then return wrk.format("GET", "/healthz") end
  if mode == "calls" then
    return wrk.format("POST", "/v1/runs/" .. run_id .. "/calls", headers,
      '{"tool":"Read","args":{"file_path":"/home/dev/shop/README.md"}}')
  end
  local body = string.format(
    '{"session_id":"bench-%d-%d","transcript_path":"/home/dev/.claude/projects/-home-dev-shop/' ..
    't.jsonl","cwd":"/home/dev/shop","permission_mode":"default","hook_event_name":' ..
    '"PreToolUse","tool_name":"Read","tool_input":{"file_path":"/home/dev/shop/README.md"},' ..
    '"tool_use_id":"toolu_bench_%d_%d"}', thread_no, n % sessions, thread_no, n)
  return wrk.format("POST", "/v1/hooks/claude-code", headers, body)
end

function response(status, headers, resp)
  if status ~= 200 or not string.find(resp, want, 1, true) then bad = bad + 1 end
end

function done(summary, latency, requests)
  local wrong = 0
  for _, t in ipairs(threads) do wrong = wrong + t:get("bad") end
  io.write(string.format("RESULT rps=%.0f p50_ms=%.3f p99_ms=%.3f errors=%d wrong=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, wrong))
end
