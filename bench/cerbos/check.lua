-- wrk script for Cerbos POST /api/check/resources. Env: KIND=allow|deny.
local kind = os.getenv("KIND") or "allow"
local action = kind == "allow" and "read_document" or "delete_document"
local body = '{"requestId":"b","principal":{"id":"bench-agent","roles":["agent"]},' ..
  '"resources":[{"actions":["' .. action .. '"],"resource":{"kind":"document","id":"a",' ..
  '"attr":{"path":"/docs/a.txt"}}}]}'
local bad = 0

function request()
  return wrk.format("POST", "/api/check/resources", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, resp)
  local want = kind == "allow" and "EFFECT_ALLOW" or "EFFECT_DENY"
  if status ~= 200 or not string.find(resp, want, 1, true) then bad = bad + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("RESULT rps=%.0f p50_ms=%.3f p99_ms=%.3f errors=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, summary.errors.status))
end
