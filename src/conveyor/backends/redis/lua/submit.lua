-- ARGV: prefix, now_us, then one JSON object of string fields per task (status among
-- them). All or none: every id is checked before anything is written.
local now = ARGV[2]
local tasks, seen = {}, {}
for i = 3, #ARGV do
  local t = cjson.decode(ARGV[i])
  if seen[t.id] or redis.call("EXISTS", tkey(t.id)) == 1 then
    return redis.error_reply("DUPLICATE_ID " .. t.id)
  end
  seen[t.id] = true
  tasks[#tasks + 1] = t
end
local stored = {}
for _, t in ipairs(tasks) do
  local existing = false
  if t.idempotency_key then
    existing = redis.call("HGET", P .. "idem", t.idempotency_key)
  end
  if existing then
    stored[#stored + 1] = existing
  else
    local fields = {}
    for name, value in pairs(t) do
      fields[#fields + 1] = name
      fields[#fields + 1] = value
    end
    redis.call("HSET", tkey(t.id), unpack(fields))
    if t.idempotency_key then
      redis.call("HSET", P .. "idem", t.idempotency_key, t.id)
    end
    zset_put(P .. "ids", t.id, 0)
    set_status(t.id, t.queue, nil, t.status)
    enqueue(t.id, t.queue, t.type, t.priority, t.run_at_us, now)
    stored[#stored + 1] = t.id
  end
end
publish(true, {})
return stored
