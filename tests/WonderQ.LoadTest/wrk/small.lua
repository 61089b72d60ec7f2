-- POST /messages with a one-byte body, to the queue named wrk.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"queue_name":"wrk","body":"x"}'
