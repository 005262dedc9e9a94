-- wrk script for bench/management.py: GET requests, each to a path picked at random from a file.
--
--   BENCH_PATHS  a file of request paths (with their query strings), one a line
--   BENCH_TOKEN  a bearer token sent on every request (optional)
--
-- bench/wrk.lua is loaded first, for its done(), which prints the "BENCH_RESULT {json}" line
-- bench/run.py's Wrk parses. Every request is built once, in init(), so request() only picks.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "wrk.lua")

local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

local requests = {}
function init(args)
  math.randomseed(os.time() * 1000 + (thread_number or 0))
  for line in io.lines(os.getenv("BENCH_PATHS")) do
    if line ~= "" then
      requests[#requests + 1] = wrk.format("GET", line)
    end
  end
  if #requests == 0 then
    error("BENCH_PATHS names no path")
  end
end

function request()
  return requests[math.random(#requests)]
end
