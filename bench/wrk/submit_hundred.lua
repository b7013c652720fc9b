-- wrk: POST /tasks, a batch of 100 no-op tasks per request.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local tasks = {}
for i = 1, 100 do
  tasks[i] = string.format('{"type": "echo", "payload": {"n": %d}}', i)
end
wrk.body = '{"tasks": [' .. table.concat(tasks, ", ") .. ']}'
