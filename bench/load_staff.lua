-- GET /console/people/{id}: a staff member's audited read of a person's page, for every person in turn (the
-- session cookie comes from the arguments).
function make(ids, n)
  return "GET", "/console/people/" .. ids[n], nil
end

dofile("load_common.lua")
