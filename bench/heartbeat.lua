-- wrk script: POST /streams/{id}/heartbeat, cycling round-robin over the stream ids in a file
-- (one UUID per line), so the load is spread over every advertised stream.
--
--   wrk -t2 -c64 -d10s --latency -s bench/heartbeat.lua http://127.0.0.1:PORT -- ids.txt
--
-- The ids file comes from the argument after `--`, or else from $SLUICE_BENCH_IDS.
-- Requests are pre-formatted once per wrk thread so the Lua side costs next to nothing.
-- Written for bench/registry_bench.sh.

wrk.method = "POST"

local next_thread = 0

-- Main Lua state: give each wrk thread its index so the threads start at different ids.
function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
end

local requests = {}
local count = 0
local cursor = 0

function init(args)
  local path = (args and args[1]) or os.getenv("SLUICE_BENCH_IDS")
  if not path or path == "" then
    error("heartbeat.lua: pass the ids file after `--` or set SLUICE_BENCH_IDS")
  end
  local file = io.open(path, "r")
  if not file then error("heartbeat.lua: cannot open ids file " .. path) end
  for line in file:lines() do
    local id = line:match("^%s*([0-9a-fA-F-]+)%s*$")
    if id then
      count = count + 1
      requests[count] = wrk.format("POST", "/streams/" .. id .. "/heartbeat")
    end
  end
  file:close()
  if count == 0 then error("heartbeat.lua: no ids in " .. path) end
  -- Stagger the threads over the id list (thread_index is set by setup() above).
  cursor = ((thread_index or 0) * 7919) % count
end

function request()
  cursor = cursor + 1
  if cursor > count then cursor = 1 end
  return requests[cursor]
end
