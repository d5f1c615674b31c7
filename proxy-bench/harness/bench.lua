-- wrk script for the Keyswap load harness.
-- KS_AUTH: the Authorization header value to send (same length class for every target).
-- KS_MODE: "chat" (one JSON chat.completion per request) or "sse" (a stream of 20 events).
-- KS_SSE_INTERVAL_MS: the upstream's pause between SSE events (default 0: all at once).
-- done() prints one machine-readable line, KSRESULT {...}, with p99.9 which wrk's --latency lacks.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local auth = os.getenv("KS_AUTH")
if auth ~= nil and auth ~= "" then
  wrk.headers["Authorization"] = auth
end
if os.getenv("KS_MODE") == "sse" then
  wrk.headers["Accept"] = "text/event-stream"
  local interval = tonumber(os.getenv("KS_SSE_INTERVAL_MS") or "0") or 0
  wrk.body = '{"model":"gpt-4o-mini","stream":true,"bench_events":20,"bench_interval_ms":' .. interval .. ',' ..
             '"messages":[{"role":"user","content":"Say hello to the benchmark."}]}'
else
  wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello to the benchmark."}],' ..
             '"max_tokens":16}'
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'KSRESULT {"requests":%d,"duration_us":%d,"bytes":%d,"err_connect":%d,"err_read":%d,"err_write":%d,' ..
    '"err_status":%d,"err_timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean))
end
