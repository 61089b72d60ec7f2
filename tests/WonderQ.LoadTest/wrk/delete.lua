-- DELETE /messages/{id} without a token, each id once: wrk's first thread takes the odd ids, its second the even
-- ones (run it with -t2, on a queue filled with more messages than it will delete).
local next_thread = 1
function setup(thread)
  thread:set("first", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  id = first
end

function request()
  local path = "/messages/" .. id
  id = id + 2
  return wrk.format("DELETE", path)
end
