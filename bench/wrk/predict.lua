-- wrk script for bench/load.py --engine wrk: POST /api/v1/predict with the bodies of a file (one JSON
-- per line, drawn by bench/mix.py), counting cache hits in the answers. Arguments: <bodies file> <token>.
local threads = {}
local bodies, n, i = {}, 0, 0
hits, answered = 0, 0 -- globals: done() reads them from every thread

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    n = n + 1
    bodies[n] = line
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Token " .. args[2]
  i = math.random(n) -- each thread starts at its own place in the draw
end

function request()
  i = i % n + 1
  return wrk.format(nil, "/api/v1/predict", nil, bodies[i])
end

function response(status, headers, body)
  answered = answered + 1
  if status == 200 and body:find('"served_from":"cache"', 1, true) then
    hits = hits + 1
  end
end

function done(summary, latency, requests)
  local h, a = 0, 0
  for _, t in ipairs(threads) do
    h = h + t:get("hits")
    a = a + t:get("answered")
  end
  local e = summary.errors
  io.write(string.format(
    "VCPRESULT requests=%d duration_us=%d errors=%d non2xx=%d p50=%.3f p95=%.3f p99=%.3f max=%.3f hits=%d answered=%d\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout + e.status, e.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, h, a))
end
