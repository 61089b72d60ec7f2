-- The small POST, sent DEPTH at a time on each connection without waiting for the answers (HTTP/1.1 pipelining):
-- wrk -s pipelined.lua URL -- 4
function init(args)
  local depth = tonumber(args[1]) or 1
  local one = wrk.format("POST", "/messages", { ["Content-Type"] = "application/json" }, '{"queue_name":"wrk","body":"x"}')
  batch = string.rep(one, depth)
end

function request()
  return batch
end
