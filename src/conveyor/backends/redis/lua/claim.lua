-- ARGV: prefix, now_us, lease_expires_us, token, worker, limit, queue count, queues...,
-- types... Takes the highest-priority, oldest due tasks across every (queue, type) set.
local now, expires, token, worker = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local limit, queue_count = tonumber(ARGV[6]), tonumber(ARGV[7])

-- Delayed tasks that came due join their ready sets first (bounded per claim).
local due = redis.call("ZRANGEBYSCORE", P .. "delayed", "-inf", now, "LIMIT", 0, 1000)
for _, id in ipairs(due) do
  local f = redis.call("HMGET", tkey(id), "queue", "type", "priority", "status")
  zset_put(P .. "delayed", id, false)
  if f[4] == "pending" then
    enqueue(id, f[1], f[2], f[3], now, now)
  end
end
flush()  -- the ready sets are read next

local candidates = {}
for q = 8, 7 + queue_count do
  for t = 8 + queue_count, #ARGV do
    local key = pending_key(ARGV[q], ARGV[t])
    local head = redis.call("ZRANGE", key, 0, limit - 1, "WITHSCORES")
    for i = 1, #head, 2 do
      candidates[#candidates + 1] = { head[i], tonumber(head[i + 1]), key }
    end
  end
end
table.sort(candidates, function(a, b)
  if a[2] ~= b[2] then
    return a[2] < b[2]
  end
  return a[1] < b[1]
end)

-- Each claimed task is read once and written once; the reply is the read hash with the
-- written fields patched in, so it reads as HGETALL would after the write.
local claimed = {}
for n = 1, math.min(limit, #candidates) do
  local id, key = candidates[n][1], candidates[n][3]
  zset_put(key, id, false)
  local flat = redis.call("HGETALL", tkey(id))
  if #flat > 0 then
    local at = {}
    for i = 1, #flat, 2 do
      at[flat[i]] = i + 1
    end
    local queue = flat[at.queue]
    local written = {
      "attempts", tostring(tonumber(flat[at.attempts]) + 1),
      "lease_token", token,
      "lease_expires_us", expires,
      "handled_by", worker,
      "started_us", now,
      "updated_us", now,
      "status", "processing",
    }
    for i = 1, #written, 2 do
      local index = at[written[i]]
      if index then
        flat[index] = written[i + 1]
      else
        flat[#flat + 1] = written[i]
        flat[#flat + 1] = written[i + 1]
      end
    end
    redis.call("HSET", tkey(id), unpack(written))
    zset_put(P .. "leases", id, expires)
    set_status(id, queue, "pending", "processing")
    claimed[#claimed + 1] = flat
  end
end
flush()
return claimed
