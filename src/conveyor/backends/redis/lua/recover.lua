-- ARGV: prefix, now_us, why (the error to record), then worker ids. With no worker ids:
-- every lease that expired before now; with worker ids: every lease those (dead) workers
-- hold. Each task goes back to pending, or to failed when out of attempts, or to
-- canceled when a cancel was asked.
local now, why = ARGV[2], ARGV[3]
local ids
if #ARGV == 3 then
  ids = redis.call("ZRANGEBYSCORE", P .. "leases", "-inf", "(" .. now)
else
  local dead = {}
  for i = 4, #ARGV do
    dead[ARGV[i]] = true
  end
  ids = {}
  for _, id in ipairs(redis.call("ZRANGE", P .. "leases", 0, -1)) do
    if dead[redis.call("HGET", tkey(id), "handled_by") or ""] then
      ids[#ids + 1] = id
    end
  end
end
local finals, work, count = {}, false, 0
for _, id in ipairs(ids) do
  local task = tkey(id)
  local f = redis.call("HMGET", task, "status", "cancel_requested", "attempts",
    "max_attempts", "handled_by", "queue", "type", "priority")
  zset_put(P .. "leases", id, false)
  if f[1] == "processing" then
    count = count + 1
    local change = changes()
    put(change, "lease_token", nil)
    put(change, "lease_expires_us", nil)
    put(change, "updated_us", now)
    local new = "pending"
    if f[2] == "1" then
      new = "canceled"
    elseif tonumber(f[3]) >= tonumber(f[4]) then
      new = "failed"
    end
    if new ~= "canceled" then
      put(change, "error", why .. " (attempt " .. f[3] .. " of " .. f[4]
        .. ", worker " .. (f[5] or "?") .. ")")
    end
    put(change, "status", new)
    set_status(id, f[6], "processing", new)
    if new == "pending" then
      enqueue(id, f[6], f[7], f[8], now, now)
      work = true
    else
      finish_final(id, change, now, finals)
    end
    apply(task, change)
  end
end
publish(work, finals)
return count
