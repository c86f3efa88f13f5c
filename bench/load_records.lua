-- GET /api/v1/people/{id}/records for every person in turn (the Kluis-Purpose header comes from the arguments).
function make(ids, n)
  return "GET", "/api/v1/people/" .. ids[n] .. "/records", nil
end

dofile("load_common.lua")
