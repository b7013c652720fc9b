-- ARGV: prefix, queues... Returns "now" when a task in these queues is ready, else the
-- earliest delayed run time in microseconds (any queue: an early wake costs one check),
-- else false.
for q = 2, #ARGV do
  for _, task_type in ipairs(redis.call("SMEMBERS", P .. "types:" .. ARGV[q])) do
    if redis.call("ZCARD", pending_key(ARGV[q], task_type)) > 0 then
      return "now"
    end
  end
end
local first = redis.call("ZRANGE", P .. "delayed", 0, 0, "WITHSCORES")
if #first == 0 then
  return false
end
return first[2]
