-- Shared by the load scripts of bench/load.py (wrk runs them with bench/ as its working directory).
-- Each script defines make(id, n) -> method, path, body; this file gives each connection the next prebuilt
-- request in turn (each thread starting elsewhere in the list), counts every answer outside 200-299 (wrk's own
-- count lets 3xx pass; the first of each thread is shown) and reports that count in done().
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("offset", counter * 7919)
  table.insert(threads, thread)
end

-- args: the file of person ids, one a line. The headers given with -H go on every request.
function init(args)
  local ids = {}
  for line in io.lines(args[1]) do
    table.insert(ids, line)
  end
  local headers = {}
  for name, value in pairs(wrk.headers) do
    headers[name] = value
  end
  requests = {}
  for n = 1, PREBUILT or #ids do
    local method, path, body = make(ids, n)
    if body then
      headers["Content-Type"] = "application/json"
    end
    table.insert(requests, wrk.format(method, path, headers, body))
  end
  position = offset % #requests
  bad = 0
end

function request()
  position = position % #requests + 1
  return requests[position]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    if bad == 0 then  -- the first of each thread, to see why
      io.write(string.format("first non-2xx: %d %s\n", status, string.sub(body or "", 1, 300)))
    end
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + (thread:get("bad") or 0)
  end
  io.write(string.format("non-2xx: %d\n", total))
end
