-- wrk script for POST /v1/runs/{run}/calls. Env: INTERLOCK_TOKEN, RUNS_FILE (one run id a
-- line), KIND=allow|deny. Requests rotate over the pre-created runs.
local token = os.getenv("INTERLOCK_TOKEN")
local kind = os.getenv("KIND") or "allow"
local runs = {}
for line in io.lines(os.getenv("RUNS_FILE")) do runs[#runs + 1] = line end
local body = kind == "allow"
  and '{"tool":"read_document","args":{"path":"/docs/a.txt"}}'
  or '{"tool":"delete_document","args":{"path":"/docs/a.txt"}}'
local i = 0
local bad = 0

function init(args)
  i = math.random(#runs)
end

function request()
  i = i % #runs + 1
  return wrk.format("POST", "/v1/runs/" .. runs[i] .. "/calls",
    {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
end

function response(status, headers, resp)
  local want = kind == "allow" and '"code":"ALLOWED"' or '"code":"TOOL_BLOCKED"'
  if status ~= 200 or not string.find(resp, want, 1, true) then bad = bad + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("RESULT rps=%.0f p50_ms=%.3f p99_ms=%.3f errors=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, summary.errors.status))
end
