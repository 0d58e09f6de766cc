-- wrk script: send a fixed number of requests per second, whatever the latency.
-- Plain wrk sends the next request as soon as an answer arrives, so at full load its latency
-- figures mostly show queueing. Paced, every path gets the same offered load and the latency
-- shows what each hop adds at that load.
--
-- Usage: wrk -t2 -c32 -s bench/paced.lua URL -- REQUESTS-PER-SECOND-PER-THREAD
-- Each wrk thread has its own Lua state and keeps its own schedule.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } paced_timespec;
  int clock_gettime(int clock_id, paced_timespec *tp);
]]

local CLOCK_MONOTONIC = 1
local timespec = ffi.new("paced_timespec")
local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end

local interval_ms
local next_at

function init(args)
  local rate = tonumber(args[1])
  if not rate or rate <= 0 then
    error("paced.lua: pass the requests per second per thread after --")
  end
  interval_ms = 1000 / rate
end

-- Called by wrk before each request: milliseconds to wait before sending it.
function delay()
  local now = now_ms()
  next_at = math.max(next_at or now, now - 1000) + interval_ms -- never more than 1 s of catching up
  local wait = next_at - now
  if wait <= 0 then
    return 0
  end
  return math.floor(wait + 0.5)
end
