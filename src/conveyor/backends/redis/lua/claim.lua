-- ARGV: prefix, now_us, lease_expires_us, token, worker, limit, queue count, type count,
-- queues..., types..., then the task fields to answer. Takes the highest-priority, oldest
-- due tasks across every (queue, type) set; answers each one's values of those fields,
-- in order, as they are after the claim.
local now, expires, token, worker = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local limit, queue_count, type_count = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local first_type = 9 + queue_count
local fields, at = {}, {}
for i = first_type + type_count, #ARGV do
  fields[#fields + 1] = ARGV[i]
  at[ARGV[i]] = #fields
end

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

local candidates, sources = {}, 0
for q = 9, first_type - 1 do
  for t = first_type, first_type + type_count - 1 do
    local key = pending_key(ARGV[q], ARGV[t])
    local head = redis.call("ZRANGE", key, 0, limit - 1, "WITHSCORES")
    if #head > 0 then
      sources = sources + 1
    end
    for i = 1, #head, 2 do
      candidates[#candidates + 1] = { head[i], tonumber(head[i + 1]), key }
    end
  end
end
if sources > 1 then  -- one ready set is in order already
  table.sort(candidates, function(a, b)
    if a[2] ~= b[2] then
      return a[2] < b[2]
    end
    return a[1] < b[1]
  end)
end

-- Each claimed task is read once and written once; the answer is what was read with
-- the written fields patched in.
local claimed = {}
for n = 1, math.min(limit, #candidates) do
  local id, key = candidates[n][1], candidates[n][3]
  zset_put(key, id, false)
  local values = redis.call("HMGET", tkey(id), unpack(fields))
  if values[at.id] then
    local written = {
      "attempts", tostring(tonumber(values[at.attempts]) + 1),
      "lease_token", token,
      "lease_expires_us", expires,
      "handled_by", worker,
      "started_us", now,
      "updated_us", now,
      "status", "processing",
    }
    for i = 1, #written, 2 do
      values[at[written[i]]] = written[i + 1]
    end
    redis.call("HSET", tkey(id), unpack(written))
    zset_put(P .. "leases", id, expires)
    set_status(id, values[at.queue], "pending", "processing")
    claimed[#claimed + 1] = values
  end
end
return claimed
