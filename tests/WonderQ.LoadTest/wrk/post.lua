-- POST /messages with a 1 KiB body, to the queue named wrk.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"queue_name":"wrk","body":"' .. string.rep("x", 1024) .. '"}'
