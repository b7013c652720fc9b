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
    redis.call("HDEL", task, "lease_token", "lease_expires_us")
    redis.call("ZREM", P .. "leases", o.id)
    redis.call("HSET", task, "updated_us", now)
    if o.kind == "retry" then
      local run_at = o.run_at or now
      set_or_clear(task, "error", o.error)
      set_or_clear(task, "traceback", o.traceback)
      redis.call("HSET", task, "run_at_us", run_at)
      set_status(o.id, f[3], "processing", "pending")
      enqueue(o.id, f[3], f[4], f[5], run_at, now)
      work = true
    elseif o.kind == "release" then
      redis.call("HSET", task, "attempts", math.max(tonumber(f[6]) - 1, 0))
      set_status(o.id, f[3], "processing", "pending")
      enqueue(o.id, f[3], f[4], f[5], now, now)
      work = true
    else
      set_or_clear(task, "result", o.result)
      set_or_clear(task, "error", o.error)
      set_or_clear(task, "traceback", o.traceback)
      set_status(o.id, f[3], "processing", o.kind)
      finish_final(o.id, now, finals)
    end
    applied[#applied + 1] = 1
  end
end
publish(work, finals)
return applied
