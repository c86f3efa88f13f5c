-- POST /api/v1/decisions, one question each, for every person in turn with one of four purposes.
local purposes = {"marketing_email", "profiling", "accounts", "security"}

function make(ids, n)
  local body = string.format('{"person_id": "%s", "purpose": "%s"}', ids[n], purposes[n % #purposes + 1])
  return "POST", "/api/v1/decisions", body
end

dofile("load_common.lua")
