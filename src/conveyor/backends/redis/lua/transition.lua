-- ARGV: prefix, now_us, action ("cancel" or "retry"), ids... Reads each task's status,
-- changes it, and returns {previous status, fields after...} per id ({} if unknown).
local now, action = ARGV[2], ARGV[3]
local results, finals, work = {}, {}, false
for i = 4, #ARGV do
  local id = ARGV[i]
  local task = tkey(id)
  local f = redis.call("HMGET", task, "status", "queue", "type")
  local previous = f[1]
  if not previous then
    results[#results + 1] = {}
  else
    if action == "cancel" and previous == "pending" then
      zset_put(P .. "delayed", id, false)
      zset_put(pending_key(f[2], f[3]), id, false)
      local change = changes()
      put(change, "updated_us", now)
      put(change, "status", "canceled")
      set_status(id, f[2], "pending", "canceled")
      finish_final(id, change, now, finals)
      apply(task, change)
    elseif action == "cancel" and previous == "processing" then
      redis.call("HSET", task, "cancel_requested", "1", "updated_us", now)
    elseif action == "retry" and (previous == "failed" or previous == "canceled") then
      redis.call("HDEL", task, "result", "finished_us", "started_us", "progress",
        "progress_message")
      redis.call("HSET", task, "attempts", "0", "run_at_us", now, "cancel_requested", "0",
        "updated_us", now, "status", "pending")
      zset_put(P .. "finished", id, false)
      set_status(id, f[2], previous, "pending")
      local priority = redis.call("HGET", task, "priority")
      enqueue(id, f[2], f[3], priority, now, now)
      work = true
    end
    local after = redis.call("HGETALL", task)
    table.insert(after, 1, previous)
    results[#results + 1] = after
  end
end
publish(work, finals)
return results
