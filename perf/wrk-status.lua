-- wrk script for perf/faults.sh and perf/reload.sh: counts responses by status over all threads and prints
-- "STATUS <code> <count>" lines and one "ERRORS <connect> <read> <write> <status> <timeout>" line at the end.
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) counts = {} end
function response(status, headers, body) counts[status] = (counts[status] or 0) + 1 end
function done(summary, latency, requests)
  local all = {}
  for _, t in ipairs(threads) do
    for s, c in pairs(t:get("counts")) do all[s] = (all[s] or 0) + c end
  end
  for s, c in pairs(all) do io.write(string.format("STATUS %d %d\n", s, c)) end
  local e = summary.errors
  io.write(string.format("ERRORS %d %d %d %d %d\n", e.connect, e.read, e.write, e.status, e.timeout))
end
