-- ARGV: prefix, now_us, lease_expires_us, token, worker, limit, queue count, queues...,
-- types... Takes the highest-priority, oldest due tasks across every (queue, type) set.
local now, expires, token, worker = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local limit, queue_count = tonumber(ARGV[6]), tonumber(ARGV[7])

-- Delayed tasks that came due join their ready sets first (bounded per claim).
local due = redis.call("ZRANGEBYSCORE", P .. "delayed", "-inf", now, "LIMIT", 0, 1000)
for _, id in ipairs(due) do
  local f = redis.call("HMGET", tkey(id), "queue", "type", "priority", "status")
  redis.call("ZREM", P .. "delayed", id)
  if f[4] == "pending" then
    enqueue(id, f[1], f[2], f[3], now, now)
  end
end

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

local claimed = {}
for n = 1, math.min(limit, #candidates) do
  local id, key = candidates[n][1], candidates[n][3]
  local task = tkey(id)
  redis.call("ZREM", key, id)
  redis.call("HINCRBY", task, "attempts", 1)
  redis.call("HSET", task, "lease_token", token, "lease_expires_us", expires,
    "handled_by", worker, "started_us", now, "updated_us", now)
  redis.call("ZADD", P .. "leases", expires, id)
  set_status(id, redis.call("HGET", task, "queue"), "pending", "processing")
  claimed[#claimed + 1] = redis.call("HGETALL", task)
end
return claimed
