-- wrk script for toolgate's benchmark: sends one fixed request and checks EVERY response.
--
-- Environment (set by bench/bench.py):
--   BENCH_METHOD   GET or POST
--   BENCH_BODY     request body (may be empty)
--   BENCH_HEADERS  extra headers, "Name: value" separated by newlines
--   BENCH_STATUS   the expected HTTP status (e.g. 200)
--   BENCH_EXPECT   substrings every body must contain, separated by TABs
--   BENCH_FORBID   substrings no body may contain, separated by TABs
--
-- The fixed request is pre-built once (no request() function), so checking is the only Lua
-- work per call. done() prints one line "BENCH_RESULT {json}" and, when a check failed,
-- "BENCH_SAMPLE <status> <first 300 bytes of the first failing body>".

local function split(text, sep)
  local out = {}
  if text == nil or text == "" then return out end
  for part in string.gmatch(text, "([^" .. sep .. "]+)") do
    table.insert(out, part)
  end
  return out
end

wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY") or ""
if body ~= "" then wrk.body = body end
for _, line in ipairs(split(os.getenv("BENCH_HEADERS"), "\n")) do
  local name, value = string.match(line, "^([^:]+):%s*(.*)$")
  if name then wrk.headers[name] = value end
end

local want_status = tonumber(os.getenv("BENCH_STATUS") or "200")
local expect = split(os.getenv("BENCH_EXPECT"), "\t")
local forbid = split(os.getenv("BENCH_FORBID"), "\t")

-- Per-thread counters: globals, so that done() can read them with thread:get().
checked = 0
failed = 0
sample = nil

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function response(status, headers, body)
  checked = checked + 1
  local ok = status == want_status
  if ok then
    for i = 1, #expect do
      if not string.find(body, expect[i], 1, true) then ok = false; break end
    end
  end
  if ok then
    for i = 1, #forbid do
      if string.find(body, forbid[i], 1, true) then ok = false; break end
    end
  end
  if not ok then
    failed = failed + 1
    if sample == nil then
      sample = tostring(status) .. " " .. string.sub(string.gsub(body or "", "[\r\n]", " "), 1, 300)
    end
  end
end

function done(summary, latency, requests)
  local c, f, s = 0, 0, nil
  for _, t in ipairs(threads) do
    c = c + t:get("checked")
    f = f + t:get("failed")
    s = s or t:get("sample")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"checked":%d,"failed":%d,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,' ..
    '"lat_mean_us":%.1f,"lat_max_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d}\n',
    summary.requests, summary.duration, c, f,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
  if s ~= nil then io.write("BENCH_SAMPLE " .. s .. "\n") end
end
