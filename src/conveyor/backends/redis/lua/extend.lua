-- ARGV: prefix, now_us, lease_expires_us, then one JSON renewal per task:
-- {id, token, progress?, message?}. Returns {held, cancel_requested} per renewal.
local now, expires = ARGV[2], ARGV[3]
local states = {}
for i = 4, #ARGV do
  local r = cjson.decode(ARGV[i])
  local task = tkey(r.id)
  local f = redis.call("HMGET", task, "status", "lease_token", "cancel_requested")
  if f[1] == "processing" and f[2] == r.token then
    local change = changes()
    put(change, "lease_expires_us", expires)
    if r.progress then
      put(change, "progress", r.progress)
      put(change, "updated_us", now)
    end
    if r.message then
      put(change, "progress_message", r.message)
    end
    apply(task, change)
    zset_put(P .. "leases", r.id, expires)
    states[#states + 1] = { 1, f[3] == "1" and 1 or 0 }
  else
    states[#states + 1] = { 0, 0 }
  end
end
return states
