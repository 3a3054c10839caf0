-- wrk script for bench/scan_throughput.py.
--
--   wrk -t2 -c64 -d15s --latency -s bench/wrk_rotate.lua http://127.0.0.1:PORT -- PATHS THREADS
--
-- Each request takes the next path of the file PATHS (one per line), so scans spread over
-- many stamps; each thread starts at its own offset. It counts per thread the requests sent,
-- the responses read and the 2xx among them, and prints one line the benchmark parses.

local threads = {}
local thread_count = 0

function setup(thread)
   thread:set("id", thread_count)
   thread_count = thread_count + 1
   table.insert(threads, thread)
end

function init(args)
   paths = {}
   for line in io.lines(args[1]) do
      if line ~= "" then
         paths[#paths + 1] = line
      end
   end
   index = math.floor(#paths * id / tonumber(args[2]))
   sent, answered, ok, last_bad_status = 0, 0, 0, 0
end

function request()
   index = index % #paths + 1
   sent = sent + 1
   return wrk.format("GET", paths[index])
end

function response(status, headers, body)
   answered = answered + 1
   if status >= 200 and status < 300 then
      ok = ok + 1
   else
      last_bad_status = status
   end
end

function done(summary, latency, requests)
   local total_sent, total_answered, total_ok, bad = 0, 0, 0, 0
   for _, thread in ipairs(threads) do
      total_sent = total_sent + thread:get("sent")
      total_answered = total_answered + thread:get("answered")
      total_ok = total_ok + thread:get("ok")
      bad = math.max(bad, thread:get("last_bad_status"))
   end
   local errors = summary.errors
   io.write(string.format(
      "XASO-BENCH duration_us=%d requests=%d sent=%d answered=%d ok=%d last_bad_status=%d "
         .. "p50_us=%d p99_us=%d max_us=%d connect_errors=%d read_errors=%d write_errors=%d "
         .. "timeouts=%d\n",
      summary.duration, summary.requests, total_sent, total_answered, total_ok, bad,
      latency:percentile(50), latency:percentile(99), latency.max,
      errors.connect, errors.read, errors.write, errors.timeout))
end
