-- wrk: POST /data, one sensor record per request (seed 004's body).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"pressure":"1013hPa","temperature":"25.1C"}'
