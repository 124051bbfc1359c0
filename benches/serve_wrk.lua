-- wrk script for benches/serve.sh: rotates through a file of requests and counts the
-- answers' statuses.
--
--   wrk ... -s benches/serve_wrk.lua URL -- MODE FILE [CONTENT_TYPE]
--
-- MODE `get`:  FILE holds one path with its query string per line (GET each in turn).
-- MODE `json`: FILE holds one JSON body per line (POSTed in turn to URL's path).
-- MODE `body`: FILE is one request body, POSTed again and again (CONTENT_TYPE, default
--              application/octet-stream).
-- Each thread starts at its own offset of the file. At the end it prints one line
--   RESULT requests=N seconds=S rps=R p50_ms=A p90_ms=B p99_ms=C max_ms=D
--          connect=E read=F write=G timeout=H statuses=200:N,503:M
-- (latencies over every answer, whatever its status), for the script to parse.

local threads = {}
local count = 0

function setup(thread)
  count = count + 1
  thread:set("id", count)
  table.insert(threads, thread)
end

function init(args)
  local mode, file, ctype = args[1] or "get", args[2], args[3]
  requests = {}
  statuses = {}
  if mode == "body" then
    local f = assert(io.open(file, "rb"))
    local body = f:read("*a")
    f:close()
    requests[1] = wrk.format("POST", nil, { ["Content-Type"] = ctype or "application/octet-stream" }, body)
  else
    for line in io.lines(file) do
      if line ~= "" then
        if mode == "get" then
          requests[#requests + 1] = wrk.format("GET", line)
        else
          requests[#requests + 1] = wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, line)
        end
      end
    end
  end
  assert(#requests > 0, "no requests in " .. tostring(file))
  -- Threads start a prime stride apart, so they do not send the same sequence.
  i = ((id or 1) - 1) * 7919 % #requests
end

function request()
  i = i % #requests + 1
  return requests[i]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if s then
      for code, n in pairs(s) do
        total[code] = (total[code] or 0) + n
      end
    end
  end
  local codes = {}
  for code, _ in pairs(total) do
    table.insert(codes, code)
  end
  table.sort(codes)
  local parts = {}
  for _, code in ipairs(codes) do
    table.insert(parts, code .. ":" .. total[code])
  end
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.2f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f " ..
      "connect=%d read=%d write=%d timeout=%d statuses=%s\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3,
    e.connect, e.read, e.write, e.timeout, table.concat(parts, ",")))
end
