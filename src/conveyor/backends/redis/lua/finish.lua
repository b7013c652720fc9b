-- ARGV: prefix, now_us, then one JSON outcome per task:
-- {id, token, kind, result?, error?, traceback?, run_at?}. Returns 1 (applied) or 0
-- (the token is no longer current: the lease was lost) per outcome.
local now = ARGV[2]
local applied, finals, work = {}, {}, false
for i = 3, #ARGV do
  local o = cjson.decode(ARGV[i])
  local task = tkey(o.id)
  local f = redis.call("HMGET", task, "status", "lease_token", "queue", "type", "priority",
    "attempts")
  if f[1] ~= "processing" or f[2] ~= o.token then
    applied[#applied + 1] = 0
  else
    local change = changes()
    put(change, "lease_token", nil)
    put(change, "lease_expires_us", nil)
    put(change, "updated_us", now)
    zset_put(P .. "leases", o.id, false)
    if o.kind == "retry" then
      local run_at = o.run_at or now
      put(change, "error", o.error)
      put(change, "traceback", o.traceback)
      put(change, "run_at_us", run_at)
      put(change, "status", "pending")
      set_status(o.id, f[3], "processing", "pending")
      enqueue(o.id, f[3], f[4], f[5], run_at, now)
      work = true
    elseif o.kind == "release" then
      put(change, "attempts", tostring(math.max(tonumber(f[6]) - 1, 0)))
      put(change, "status", "pending")
      set_status(o.id, f[3], "processing", "pending")
      enqueue(o.id, f[3], f[4], f[5], now, now)
      work = true
    else
      put(change, "result", o.result)
      put(change, "error", o.error)
      put(change, "traceback", o.traceback)
      put(change, "status", o.kind)
      set_status(o.id, f[3], "processing", o.kind)
      finish_final(o.id, change, now, finals)
    end
    apply(task, change)
    applied[#applied + 1] = 1
  end
end
publish(work, finals)
return applied
