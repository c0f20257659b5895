-- perfledger's wrk reporter: writes the run's summary and its full latency
-- distribution as JSON, so perfledger can store an exact histogram.
--
--   WRK_REPORT=run.json wrk -t2 -c16 -d30s -s scripts/wrk_report.lua http://127.0.0.1:8080/
--   perfledger import run.json
--
-- Without WRK_REPORT the JSON goes to wrk-report.json in the current folder.
-- Values are microseconds, as wrk records them.
local threads = 0

function setup(thread)
  threads = threads + 1
end

local function stats_json(s)
  return string.format('{"min":%d,"max":%d,"mean":%.3f,"stdev":%.3f}', s.min, s.max, s.mean, s.stdev)
end

function done(summary, latency, requests)
  local parts = {}
  local e = summary.errors
  table.insert(parts, '"format":"perfledger-wrk-report/1"')
  table.insert(parts, string.format('"url":"%s://%s:%s%s"', wrk.scheme, wrk.host, wrk.port or "", wrk.path))
  table.insert(parts, string.format('"threads":%d', threads))
  table.insert(parts, string.format('"duration_us":%d,"requests":%d,"bytes":%d', summary.duration, summary.requests, summary.bytes))
  table.insert(parts, string.format('"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}',
    e.connect, e.read, e.write, e.status, e.timeout))
  local pct = {}
  for _, p in ipairs({50, 75, 90, 95, 99, 99.9}) do
    table.insert(pct, string.format('"%s":%d', tostring(p), latency:percentile(p)))
  end
  local dist = {}
  for i = 1, #latency do
    local value, count = latency(i)
    table.insert(dist, string.format('[%d,%d]', value, count))
  end
  table.insert(parts, '"latency_us":' .. stats_json(latency):sub(1, -2) ..
    ',"percentiles":{' .. table.concat(pct, ",") .. '},"distribution":[' .. table.concat(dist, ",") .. ']}')
  table.insert(parts, '"requests_per_thread_per_sec":' .. stats_json(requests))
  local path = os.getenv("WRK_REPORT") or "wrk-report.json"
  local f = assert(io.open(path, "w"))
  f:write("{" .. table.concat(parts, ",") .. "}\n")
  f:close()
end
