-- wrk script: inclusion proofs for random entries of a log of SIZE entries.
-- wrk -t2 -c32 -d20s -s docs/bench/inclusion.lua http://127.0.0.1:8099 -- 1000000
local size = 1000000
function init(args)
  if args[1] then size = tonumber(args[1]) end
  math.randomseed(os.time() + math.floor(os.clock() * 1000))
end
function request()
  local i = math.random(0, size - 1)
  return wrk.format("GET", "/v1/proof/inclusion?index=" .. i .. "&size=" .. size)
end
