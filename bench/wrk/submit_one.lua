-- wrk: POST /tasks, one no-op task per request.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"type": "echo", "payload": {"n": 1}}'
