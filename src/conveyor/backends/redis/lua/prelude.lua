-- Shared by every Conveyor script. ARGV[1] is the key prefix (e.g. "conveyor:"); keys
-- are built here because one script touches keys it learns only by reading (a task's
-- queue and type). That rules out Redis Cluster; one primary (with replicas) is supported.
--
-- Keys: task:<id> (hash), pending:<queue>|<type> (zset, score -priority, ties by id),
-- types:<queue> (set), delayed, leases, finished (zsets scored by time in microseconds),
-- ids and status:<status> (zsets with score 0, ordered by id), idem (hash key -> id),
-- counts (hash "<queue>|<status>" -> n), totals (hash event -> n), workers (hash id -> JSON).
-- Channels: events (work may be ready), finals (ids of tasks that became final).
local P = ARGV[1]

local function tkey(id)
  return P .. "task:" .. id
end

local function pending_key(queue, task_type)
  return P .. "pending:" .. queue .. "|" .. task_type
end

-- Changes to sorted sets, counters and type sets are gathered while a script runs and
-- written by flush(): one variadic ZADD or ZREM per set and one HINCRBY per counter,
-- instead of a call each per task (those calls were most of a claim's or a finish's
-- time in Redis). The last change of a member wins, as if each had been made in turn.
-- A script reads a set it changed only after a flush; every script is flushed at its
-- end (scripts.py runs it as a function, then flush).
local zset_changes, zset_keys = {}, {}
local counter_changes, counter_keys = {}, {}
local type_changes, type_keys = {}, {}

local function changes_of(changes, keys, key)  -- keys: the order keys first changed
  local of_key = changes[key]
  if not of_key then
    of_key = {}
    changes[key] = of_key
    keys[#keys + 1] = key
  end
  return of_key
end

local function zset_put(key, member, score)  -- score false: remove the member
  changes_of(zset_changes, zset_keys, key)[member] = score
end

local function count(hash, field, by)
  local fields = changes_of(counter_changes, counter_keys, hash)
  fields[field] = (fields[field] or 0) + by
end

-- unpack() takes a bounded number of values (Lua's C stack): write in slices
local SLICE = 1000

local function call_sliced(command, key, values)
  for first = 1, #values, SLICE do
    redis.call(command, key, unpack(values, first, math.min(first + SLICE - 1, #values)))
  end
end

local function flush()
  for _, key in ipairs(zset_keys) do
    local adds, removes = {}, {}
    for member, score in pairs(zset_changes[key]) do
      if score then
        adds[#adds + 1] = score
        adds[#adds + 1] = member
      else
        removes[#removes + 1] = member
      end
    end
    call_sliced("ZADD", key, adds)  -- SLICE is even: a slice never splits a pair
    call_sliced("ZREM", key, removes)
  end
  for _, hash in ipairs(counter_keys) do
    for field, by in pairs(counter_changes[hash]) do
      if by ~= 0 then
        redis.call("HINCRBY", hash, field, by)
      end
    end
  end
  for _, key in ipairs(type_keys) do
    local members = {}
    for member in pairs(type_changes[key]) do
      members[#members + 1] = member
    end
    call_sliced("SADD", key, members)
  end
  zset_changes, zset_keys = {}, {}
  counter_changes, counter_keys = {}, {}
  type_changes, type_keys = {}, {}
end

-- Move a task between status indexes and counters; nil for "none" (new or deleted).
-- The task's own "status" field is the caller's to write, with its other fields.
local function set_status(id, queue, old, new)
  if old then
    zset_put(P .. "status:" .. old, id, false)
    count(P .. "counts", queue .. "|" .. old, -1)
  end
  -- totals only grow (purges do not lower them): "submitted", then each status entered
  if new then
    count(P .. "totals", old and new or "submitted", 1)
    zset_put(P .. "status:" .. new, id, 0)
    count(P .. "counts", queue .. "|" .. new, 1)
  end
end

-- A pending task waits in its queue's ready set, or in `delayed` until it is due.
-- Times are compared as numbers: microseconds fit a double exactly.
local function enqueue(id, queue, task_type, priority, run_at, now)
  if tonumber(run_at) > tonumber(now) then
    zset_put(P .. "delayed", id, run_at)
  else
    zset_put(pending_key(queue, task_type), id, -tonumber(priority))
    changes_of(type_changes, type_keys, P .. "types:" .. queue)[task_type] = true
  end
end

-- A task's hash fields to write and to delete, gathered into one HSET and one HDEL.
local function changes()
  return { set = {}, clear = {} }
end

local function put(change, field, value)  -- value nil: delete the field
  if value == nil then
    change.clear[#change.clear + 1] = field
  else
    change.set[#change.set + 1] = field
    change.set[#change.set + 1] = value
  end
end

local function apply(key, change)
  if #change.clear > 0 then
    redis.call("HDEL", key, unpack(change.clear))
  end
  if #change.set > 0 then
    redis.call("HSET", key, unpack(change.set))
  end
end

local function finish_final(id, change, now, finals)
  put(change, "finished_us", now)
  zset_put(P .. "finished", id, now)
  finals[#finals + 1] = id
end

local function publish(work, finals)
  if work then
    redis.call("PUBLISH", P .. "events", "w")
  end
  if #finals > 0 then
    redis.call("PUBLISH", P .. "finals", table.concat(finals, ","))
  end
end
