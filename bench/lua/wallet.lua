-- wrk script for the wallet API. MODE (env): transfer | hot | fund | hotfund | read | hold |
-- capture | split3 | batch100. hotfund: every request funds HOT_WALLET (an operator's TOKEN).
-- split3: a 3-leg split (POST /transactions): one random wallet pays three others.
-- batch100: 100 random transfers in one request (POST /transactions/batch, not atomic).
-- hold: each request reserves 0.01 of a random wallet for another (POST /wallets/{id}/holds).
-- capture: a thread alternates: it creates a hold, and once that answer brings the hold's id, the
-- next request captures it (POST /holds/{id}/capture): half the requests are captures.
-- WALLET_IDS: a file with one wallet id per line; TOKEN: an operator token; HOT_WALLET for MODE=hot.
-- Counts non-2xx answers per thread and prints one JSON line in done() for the harness to read.

local ids = {}
for line in io.lines(os.getenv("WALLET_IDS")) do ids[#ids + 1] = line end
local mode = os.getenv("MODE") or "transfer"
local hot = os.getenv("HOT_WALLET")
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Token " .. os.getenv("TOKEN")}
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + seed)
  failures = 0
  statuses = {}
  holds = {}  -- hold ids waiting for their capture (MODE=capture)
  captures = 0
end

local function pick() return ids[math.random(#ids)] end

function request()
  if mode == "read" then
    return wrk.format("GET", "/wallets/" .. pick(), headers)
  elseif mode == "fund" then
    return wrk.format("POST", "/wallets/" .. pick() .. "/fund", headers, '{"amount":"0.01"}')
  elseif mode == "hotfund" then
    return wrk.format("POST", "/wallets/" .. hot .. "/fund", headers, '{"amount":"0.01"}')
  end
  local from, to = pick(), pick()
  while to == from do to = pick() end
  if mode == "split3" then
    local legs = {}
    for i = 1, 3 do
      local target = pick()
      while target == from do target = pick() end
      legs[i] = '{"from_wallet_id":"' .. from .. '","to_wallet_id":"' .. target .. '","amount":"0.01"}'
    end
    return wrk.format("POST", "/transactions", headers, '{"legs":[' .. table.concat(legs, ",") .. ']}')
  elseif mode == "batch100" then
    local items = {}
    for i = 1, 100 do
      local source, target = pick(), pick()
      while target == source do target = pick() end
      items[i] = '{"from_wallet_id":"' .. source .. '","to_wallet_id":"' .. target .. '","amount":"0.01"}'
    end
    return wrk.format("POST", "/transactions/batch", headers, '{"transfers":[' .. table.concat(items, ",") .. ']}')
  end
  if mode == "capture" and #holds > 0 then
    captures = captures + 1
    return wrk.format("POST", "/holds/" .. table.remove(holds) .. "/capture", headers, "{}")
  elseif mode == "hold" or mode == "capture" then
    return wrk.format("POST", "/wallets/" .. from .. "/holds", headers,
                      '{"to_wallet_id":"' .. to .. '","amount":"0.01"}')
  end
  if mode == "hot" then
    if math.random(2) == 1 then from = hot else to = hot end
    if from == to then to = ids[1] == hot and ids[2] or ids[1] end
  end
  return wrk.format("POST", "/wallets/" .. from .. "/transfer", headers,
                    '{"to_wallet_id":"' .. to .. '","amount":"0.01"}')
end

function response(status, headers, body)
  if mode == "capture" and status == 201 then
    local id = string.match(body, '"id":"([0-9a-f-]+)"')
    if id then holds[#holds + 1] = id end
  end
  if status < 200 or status > 299 then
    failures = failures + 1
    statuses[status] = (statuses[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local failed, captured = 0, 0
  for _, thread in ipairs(threads) do
    failed = failed + thread:get("failures")
    captured = captured + thread:get("captures")
  end
  io.write(string.format(
    '{"requests":%d,"captures":%d,"duration_us":%d,"non_2xx":%d,"socket_errors":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, captured, summary.duration, failed,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
