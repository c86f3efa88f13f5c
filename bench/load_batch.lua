-- POST /api/v1/records/batch: 100 records a request, one for each of 100 people in turn (50 bodies prebuilt).
PREBUILT = 50
local SIZE = 100

function make(ids, n)
  local items = {}
  for i = 1, SIZE do
    local id = ids[((n - 1) * SIZE + i - 1) % #ids + 1]
    items[i] = string.format('{"person_id": "%s", "category": "basic", "purposes": ["accounts"], ' ..
      '"legal_basis": "contract", "source": "direct", "content": {"n": %d, "text": "waarde %d"}}', id, i, n)
  end
  return "POST", "/api/v1/records/batch", '{"items": [' .. table.concat(items, ", ") .. ']}'
end

dofile("load_common.lua")
