-- wrk's script for the benchmark (bench/wrk.py runs it): POSTs request bodies, one per line
-- of a file, in turn, with a bearer token, and counts failures: a status other than 2xx, or
-- a body holding the "bad" text (GraphQL's "errors": key). At the end it prints one line,
-- BENCH_WRK followed by JSON, that bench/wrk.py reads (latencies in microseconds).
--
--   wrk -t1 -c8 -d5s --latency -s bench/wrk.lua URL -- BODIES_FILE TOKEN [BAD]

local requests = {}
local next_request = 0
local bad = '"errors":'
local threads = {}
failures = 0 -- globals: done() reads them from each thread
sample = ""

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local headers = {
    ["Authorization"] = "Bearer " .. args[2],
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json",
  }
  if args[3] then
    bad = args[3]
  end
  for line in io.lines(args[1]) do
    if #line > 0 then
      table.insert(requests, wrk.format("POST", nil, headers, line))
    end
  end
  assert(#requests > 0, "no request bodies in " .. args[1])
end

function request()
  next_request = next_request % #requests + 1
  return requests[next_request]
end

function response(status, headers, body)
  if status < 200 or status > 299 or string.find(body, bad, 1, true) then
    failures = failures + 1
    if sample == "" then
      sample = status .. ": " .. string.sub(body, 1, 300)
    end
  end
end

function done(summary, latency, requests)
  local failed, first = 0, ""
  for _, thread in ipairs(threads) do
    failed = failed + thread:get("failures")
    if first == "" then
      first = thread:get("sample")
    end
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_WRK {"requests":%d,"duration_us":%d,"failures":%d,"socket_errors":%d,' ..
      '"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, failed,
    errors.connect + errors.read + errors.write, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
  if first ~= "" then
    io.write("BENCH_WRK_SAMPLE " .. string.gsub(first, "\n", " ") .. "\n")
  end
end
