package redisstream

import "github.com/redis/go-redis/v9"

// The Lua scripts run server-side so that each step that must be atomic is:
// an input's emitted events and its ack, a dead letter and its ack, a claim
// and the delivery count it is judged by. Every script takes KEYS[1] = the
// stream and KEYS[2] = the dead-letter stream (one hash slot: the keys share
// a hash tag) and ARGV[1] = group, ARGV[2] = consumer, ARGV[3] = max
// deliveries.

// luaCommon is prepended to every script.
const luaCommon = `
local stream, dead = KEYS[1], KEYS[2]
local group, consumer, maxDeliveries = ARGV[1], ARGV[2], tonumber(ARGV[3])

-- owned returns the delivery count of entry id when it is pending for this
-- consumer, or nil when it is not (acknowledged, or reclaimed by another).
local function owned(id)
  local p = redis.call('XPENDING', stream, group, id, id, 1, consumer)
  if #p == 0 then return nil end
  return p[1][4]
end

-- deadletter copies entry id to the dead-letter stream with why it died,
-- then acknowledges it: both in this script, so that it is never lost and
-- never dead-lettered twice.
local function deadletter(id, reason, detail, deliveries)
  local fields = {'reason', reason, 'detail', detail, 'deliveries', tostring(deliveries),
    'original_id', id, 'group', group, 'consumer', consumer}
  local e = redis.call('XRANGE', stream, id, id)
  if #e > 0 then
    local f = e[1][2]
    for i = 1, #f, 2 do
      fields[#fields + 1] = 'original:' .. f[i]
      fields[#fields + 1] = f[i + 1]
    end
  end
  redis.call('XADD', dead, '*', unpack(fields))
  redis.call('XACK', stream, group, id)
end
`

// settleScript settles a batch of inputs, each in its own way:
//
//	'a', id, n, event1..eventN       emit the events and ack: 1, or 0 when not owned
//	'n', id, permanent, reason, detail  a failed handling: -1 dead-lettered,
//	                                  0 not owned, else the delivery count (retry later)
//	'd', id, reason, detail          dead-letter now: -1, or 0 when not owned
//
// It returns one result per input.
var settleScript = redis.NewScript(luaCommon + `
-- One XPENDING lists what this consumer holds (usually the batch it
-- fetched), rather than one per input; an id past a truncated list is
-- looked up on its own.
local limit = 4 * #ARGV
local mine = {}
local listed = redis.call('XPENDING', stream, group, '-', '+', limit, consumer)
for _, p in ipairs(listed) do mine[p[1]] = p[4] end
local complete = #listed < limit
local out, acks = {}, {}
local i = 4
while i <= #ARGV do
  local op, id = ARGV[i], ARGV[i + 1]
  local d = mine[id]
  if not d and not complete then d = owned(id) end
  if op == 'a' then
    local n = tonumber(ARGV[i + 2])
    if d then
      for j = 1, n do
        redis.call('XADD', stream, '*', 'event', ARGV[i + 2 + j])
      end
      acks[#acks + 1] = id
      out[#out + 1] = 1
    else
      out[#out + 1] = 0
    end
    i = i + 3 + n
  elseif op == 'n' then
    if not d then
      out[#out + 1] = 0
    elseif ARGV[i + 2] == '1' then
      deadletter(id, ARGV[i + 3], ARGV[i + 4], d)
      out[#out + 1] = -1
    elseif d >= maxDeliveries then
      deadletter(id, 'max_deliveries', 'delivered ' .. d .. ' times, the limit; the last failure: ' .. ARGV[i + 4], d)
      out[#out + 1] = -1
    else
      out[#out + 1] = d
    end
    i = i + 5
  elseif op == 'd' then
    if d then
      deadletter(id, ARGV[i + 2], ARGV[i + 3], d)
      out[#out + 1] = -1
    else
      out[#out + 1] = 0
    end
    i = i + 4
  else
    return redis.error_reply('necrostack settle: unknown op ' .. tostring(op))
  end
end
-- The plain acks go in one XACK; the script is atomic, so nobody sees the
-- events added before their input is acknowledged.
for j = 1, #acks, 1000 do
  redis.call('XACK', stream, group, unpack(acks, j, math.min(j + 999, #acks)))
end
return out
`)

// claimScript takes entries for this consumer, counting a delivery for each,
// and dead-letters those delivered more than max deliveries times. Modes:
//
//	'idle', minIdleMs, cursor, count   XAUTOCLAIM entries of any consumer idle that long
//	'own', after, count                this consumer's own pending entries after id 'after'
//	'ids', id...                       these entries, when still pending for this consumer
//
// It returns {next cursor or last id ('0-0' when done), {{id, fields, deliveries}...}, dead count}.
var claimScript = redis.NewScript(luaCommon + `
local mode = ARGV[4]
local out, deadCount = {}, 0
local function take(id, fields, deliveries)
  if deliveries > maxDeliveries then
    deadletter(id, 'max_deliveries', 'delivered ' .. deliveries .. ' times, over the limit of ' .. maxDeliveries .. '; the consumers that took it may have crashed', deliveries)
    deadCount = deadCount + 1
  else
    out[#out + 1] = {id, fields, deliveries}
  end
end
local function claimOne(id)
  local c = redis.call('XCLAIM', stream, group, consumer, 0, id)
  if #c == 0 or not c[1] then return end -- deleted from the stream (trimmed): XCLAIM dropped it
  local p = redis.call('XPENDING', stream, group, id, id, 1, consumer)
  if #p > 0 then take(id, c[1][2], p[1][4]) end
end
if mode == 'idle' then
  local r = redis.call('XAUTOCLAIM', stream, group, consumer, ARGV[5], ARGV[6], 'COUNT', ARGV[7])
  for _, e in ipairs(r[2]) do
    if e then
      local p = redis.call('XPENDING', stream, group, e[1], e[1], 1, consumer)
      if #p > 0 then take(e[1], e[2], p[1][4]) end
    end
  end
  return {r[1], out, deadCount}
elseif mode == 'own' then
  local count = tonumber(ARGV[6])
  local p = redis.call('XPENDING', stream, group, '(' .. ARGV[5], '+', count, consumer)
  local last = '0-0'
  for _, e in ipairs(p) do
    claimOne(e[1])
    last = e[1]
  end
  if #p < count then last = '0-0' end
  return {last, out, deadCount}
elseif mode == 'ids' then
  for i = 5, #ARGV do
    if owned(ARGV[i]) then claimOne(ARGV[i]) end
  end
  return {'0-0', out, deadCount}
end
return redis.error_reply('necrostack claim: unknown mode ' .. tostring(mode))
`)

// touchScript sets the idle time of entries still pending for this consumer
// to ARGV[4] milliseconds without counting a delivery: 0 keeps a long
// handler's entry from being reclaimed; the claim idle timeout releases an
// entry to the other consumers at once. It returns how many it touched.
var touchScript = redis.NewScript(luaCommon + `
local n = 0
for i = 5, #ARGV do
  if owned(ARGV[i]) then
    redis.call('XCLAIM', stream, group, consumer, 0, ARGV[i], 'IDLE', ARGV[4], 'JUSTID')
    n = n + 1
  end
end
return n
`)

// trimScript removes the entries every group of the stream is done with:
// those below both each group's last delivered id and its oldest pending
// entry (XTRIM MINID). Nothing undelivered or pending is ever trimmed. It
// returns how many entries it removed.
var trimScript = redis.NewScript(`
local stream = KEYS[1]
local function less(a, b)
  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')
  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')
  ams, aseq, bms, bseq = tonumber(ams), tonumber(aseq), tonumber(bms), tonumber(bseq)
  return ams < bms or (ams == bms and aseq < bseq)
end
if redis.call('EXISTS', stream) == 0 then return 0 end
local groups = redis.call('XINFO', 'GROUPS', stream)
if #groups == 0 then return 0 end
local minid = nil
for _, g in ipairs(groups) do
  local name, last
  for i = 1, #g, 2 do
    if g[i] == 'name' then name = g[i + 1] end
    if g[i] == 'last-delivered-id' then last = g[i + 1] end
  end
  if not minid or less(last, minid) then minid = last end
  local p = redis.call('XPENDING', stream, name)
  if p[1] > 0 and less(p[2], minid) then minid = p[2] end
end
return redis.call('XTRIM', stream, 'MINID', minid)
`)

// leaveScript deletes this consumer from the group when it holds no pending
// entry, so that consumers named per process do not pile up in XINFO
// CONSUMERS. It returns 1 when it left.
var leaveScript = redis.NewScript(luaCommon + `
if redis.call('EXISTS', stream) == 0 then return 0 end
if #redis.call('XPENDING', stream, group, '-', '+', 1, consumer) > 0 then return 0 end
redis.call('XGROUP', 'DELCONSUMER', stream, group, consumer)
return 1
`)
