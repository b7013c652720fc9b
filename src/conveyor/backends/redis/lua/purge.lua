-- ARGV: prefix, finished_before_us, limit. Deletes final tasks that finished before then.
local ids = redis.call("ZRANGEBYSCORE", P .. "finished", "-inf", "(" .. ARGV[2], "LIMIT", 0,
  tonumber(ARGV[3]))
local count = 0
for _, id in ipairs(ids) do
  local task = tkey(id)
  local f = redis.call("HMGET", task, "status", "queue", "idempotency_key")
  zset_put(P .. "finished", id, false)
  if f[1] == "completed" or f[1] == "failed" or f[1] == "canceled" then
    if f[3] and redis.call("HGET", P .. "idem", f[3]) == id then
      redis.call("HDEL", P .. "idem", f[3])
    end
    zset_put(P .. "ids", id, false)
    set_status(id, f[2], f[1], nil)
    redis.call("DEL", task)
    count = count + 1
  end
end
return count
