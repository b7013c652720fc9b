-- Shared by every Conveyor script. ARGV[1] is the key prefix (e.g. "conveyor:"); keys
-- are built here because one script touches keys it learns only by reading (a task's
-- queue and type). That rules out Redis Cluster; one primary (with replicas) is supported.
--
-- Keys: task:<id> (hash), pending:<queue>|<type> (zset, score -priority, ties by id),
-- types:<queue> (set), delayed, leases, finished (zsets scored by time in microseconds),
-- ids and status:<status> (zsets with score 0, ordered by id), idem (hash key -> id),
-- counts (hash "<queue>|<status>" -> n), totals (hash event -> n), workers (hash id -> JSON).
-- Channel: events.
local P = ARGV[1]

local function tkey(id)
  return P .. "task:" .. id
end

local function pending_key(queue, task_type)
  return P .. "pending:" .. queue .. "|" .. task_type
end

-- Move a task between status indexes and counters; nil for "none" (new or deleted).
local function set_status(id, queue, old, new)
  if old then
    redis.call("ZREM", P .. "status:" .. old, id)
    redis.call("HINCRBY", P .. "counts", queue .. "|" .. old, -1)
  end
  -- totals only grow (purges do not lower them): "submitted", then each status entered
  if new then
    redis.call("HINCRBY", P .. "totals", old and new or "submitted", 1)
    redis.call("ZADD", P .. "status:" .. new, 0, id)
    redis.call("HINCRBY", P .. "counts", queue .. "|" .. new, 1)
    redis.call("HSET", tkey(id), "status", new)
  end
end

-- A pending task waits in its queue's ready set, or in `delayed` until it is due.
-- Times are compared as numbers: microseconds fit a double exactly.
local function enqueue(id, queue, task_type, priority, run_at, now)
  if tonumber(run_at) > tonumber(now) then
    redis.call("ZADD", P .. "delayed", run_at, id)
  else
    redis.call("ZADD", pending_key(queue, task_type), -tonumber(priority), id)
    redis.call("SADD", P .. "types:" .. queue, task_type)
  end
end

local function set_or_clear(key, field, value)
  if value == nil then
    redis.call("HDEL", key, field)
  else
    redis.call("HSET", key, field, value)
  end
end

local function finish_final(id, now, finals)
  redis.call("HSET", tkey(id), "finished_us", now)
  redis.call("ZADD", P .. "finished", now, id)
  finals[#finals + 1] = id
end

local function publish(work, finals)
  if work then
    redis.call("PUBLISH", P .. "events", "w")
  end
  if #finals > 0 then
    redis.call("PUBLISH", P .. "events", "f" .. table.concat(finals, ","))
  end
end
