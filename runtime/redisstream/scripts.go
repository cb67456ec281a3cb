package redisstream

import (
	"fmt"

	"github.com/redis/go-redis/v9"
)

// The Lua scripts run server-side so that each step that must be atomic is:
// an input's emitted events and its ack, a dead letter and its ack, a claim
// and the delivery count it is judged by. The scripts of a consumer take
//
//	KEYS[1] = the service's dead letters, KEYS[2] = its settled-cursor hash,
//	KEYS[3..] = topic streams (ops name them by index)
//	ARGV[1] = group (the service), ARGV[2] = consumer, ARGV[3] = max deliveries
//
// Every key of a bus shares its hash tag, so one script stays in one slot.

// Key positions shared by the Go side and the scripts.
const (
	keyDead     = 1 // KEYS index of the dead-letter stream
	keyCursors  = 2 // KEYS index of the settled-cursor hash
	firstStream = 3 // KEYS index of the first topic stream
)

// outcome is how a settle op ends an entry; the scripts know the same values.
type outcome uint8

const (
	outcomeAck   outcome = 1 // publish the emitted events and acknowledge
	outcomeRetry outcome = 2 // failed: stay pending for a retry, or dead-letter with the emitted events at max deliveries
	outcomeDead  outcome = 3 // dead-letter now, publishing the emitted events
)

// luaCommon is prepended to every consumer script.
var luaCommon = fmt.Sprintf(`
local dead, cursors = KEYS[%d], KEYS[%d]
local group, consumer, maxDeliveries = ARGV[1], ARGV[2], tonumber(ARGV[3])
local ACK, RETRY, DEAD = %d, %d, %d

-- owned returns the delivery count of entry id of stream when it is pending
-- for this consumer, or nil (acknowledged, or reclaimed by another).
local function owned(stream, id)
  local p = redis.call('XPENDING', stream, group, id, id, 1, consumer)
  if #p == 0 then return nil end
  return p[1][4]
end

-- holder lists what this consumer holds of a stream once, with one XPENDING,
-- and answers owned() from it; an id past a truncated list is looked up.
local function holder(stream, expect)
  local limit = 4 * expect + 16
  local list = redis.call('XPENDING', stream, group, '-', '+', limit, consumer)
  local ids = {}
  for _, p in ipairs(list) do ids[p[1]] = p[4] end
  local complete = #list < limit
  return function(id)
    local d = ids[id]
    if not d and not complete then d = owned(stream, id) end
    return d
  end
end

-- deadletter copies entry id to the dead letters with why it died, then
-- acknowledges it: both in this script, so that it is never lost and never
-- dead-lettered twice.
local function deadletter(stream, id, reason, detail, deliveries)
  local fields = {'reason', reason, 'detail', detail, 'deliveries', tostring(deliveries),
    'topic', stream, 'original_id', id, 'service', group, 'consumer', consumer}
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

-- less orders stream entry ids.
local function less(a, b)
  local ams, aseq = string.match(a, '^(%%d+)-(%%d+)$')
  local bms, bseq = string.match(b, '^(%%d+)-(%%d+)$')
  ams, aseq, bms, bseq = tonumber(ams), tonumber(aseq), tonumber(bms), tonumber(bseq)
  return ams < bms or (ams == bms and aseq < bseq)
end
`, keyDead, keyCursors, outcomeAck, outcomeRetry, outcomeDead)

// settleScript settles a batch. ARGV[4] is the batch in the binary layout of
// settle.go (batchHeader, then each stream's range, then each op: see
// packBatch and settleOp.append), read here with Lua's struct library and
// the same formats.
//
// Each op applies only if its entry is still pending for this consumer: one
// XPENDING per topic, over the range of the batch's entries in it, says
// which are. It returns one integer per op: 1 acknowledged, 0 not owned
// (another consumer reclaimed it: nothing written), -1 dead-lettered, or,
// for a retry, the entry's delivery count so far. The settled cursor of each
// topic where an entry was settled moves to the batch's newest entry of it.
var settleScript = redis.NewScript(luaCommon + fmt.Sprintf(`
local b, pos = ARGV[4], 1
local nstreams, nops, held
nstreams, nops, held, pos = struct.unpack('%s', b, pos)
local holds, newest, acks, settled, out = {}, {}, {}, {}, {}
for _ = 1, nstreams do
  local s, first, last
  s, first, last, pos = struct.unpack('%s', b, pos)
  newest[s] = last
  local mine, list = {}, redis.call('XPENDING', KEYS[s], group, first, last, held, consumer)
  for _, p in ipairs(list) do mine[p[1]] = p[4] end
  -- Entries this consumer holds unknowingly (a lost read's) may fill the
  -- list: then the ones not in it are looked up one by one.
  if #list >= held then
    setmetatable(mine, {__index = function(_, id) return owned(KEYS[s], id) end})
  end
  holds[s] = mine
end
for i = 1, nops do
  local s, o, id, reason, detail, nemits
  s, o, id, reason, detail, nemits, pos = struct.unpack('%s', b, pos)
  local d = holds[s][id]
  -- What the organs emitted is published when the entry is settled for
  -- good: acknowledged, or dead-lettered now or at its last delivery.
  local final = d and (o ~= RETRY or d >= maxDeliveries)
  for _ = 1, nemits do
    local to, arg
    to, arg, pos = struct.unpack('%s', b, pos)
    if final then redis.call('XADD', KEYS[to], '*', 'event', ARGV[arg]) end
  end
  local r = 0
  if not d then
    r = 0
  elseif o == ACK then
    local a = acks[s]
    if not a then a = {}; acks[s] = a end
    a[#a + 1] = id
    r = 1
  elseif o == DEAD then
    deadletter(KEYS[s], id, reason, detail, d)
    r = -1
  elseif d >= maxDeliveries then
    if reason == '' then reason = 'max_deliveries' end
    deadletter(KEYS[s], id, reason, 'delivered ' .. d .. ' times, the limit; the last failure: ' .. detail, d)
    r = -1
  else
    r = d
  end
  out[i] = r
  if final then settled[s] = true end
end
-- The plain acks go in one XACK per topic; the script is atomic, so nobody
-- sees the events added before their input is acknowledged.
for s, ids in pairs(acks) do
  for j = 1, #ids, 1000 do
    redis.call('XACK', KEYS[s], group, unpack(ids, j, math.min(j + 999, #ids)))
  end
end
for s in pairs(settled) do
  local cur = redis.call('HGET', cursors, KEYS[s])
  if not cur or less(cur, newest[s]) then redis.call('HSET', cursors, KEYS[s], newest[s]) end
end
return out
`, batchHeader, batchStream, opHeader, opEmit))

// The claim scripts take entries of one topic (ARGV[4], a KEYS index) for
// this consumer, counting a delivery for each, and dead-letter those
// delivered more than max deliveries times. Each returns
// {next cursor ('0-0' when done), {{id, fields, deliveries}...}, dead count}.
const luaTake = `
local stream = KEYS[tonumber(ARGV[4])]
local out, deadCount = {}, 0
local function take(id, fields, deliveries)
  if deliveries > maxDeliveries then
    deadletter(stream, id, 'max_deliveries', 'delivered ' .. deliveries .. ' times, over the limit of ' .. maxDeliveries .. '; the consumers that took it may have crashed', deliveries)
    deadCount = deadCount + 1
  else
    out[#out + 1] = {id, fields, deliveries}
  end
end
local function claimOne(id)
  local c = redis.call('XCLAIM', stream, group, consumer, 0, id)
  if #c == 0 or not c[1] then return end -- deleted from the stream (trimmed)
  local p = redis.call('XPENDING', stream, group, id, id, 1, consumer)
  if #p > 0 then take(id, c[1][2], p[1][4]) end
end
`

// claimIDsScript takes entries ARGV[5..] that are pending for this
// consumer: back for their retry, or that it does not hold (drain).
var claimIDsScript = redis.NewScript(luaCommon + luaTake + `
for i = 5, #ARGV do
  if owned(stream, ARGV[i]) then claimOne(ARGV[i]) end
end
return {'0-0', out, deadCount}
`)

// claimIdleScript takes entries of any consumer idle for ARGV[5] ms
// (XAUTOCLAIM from cursor ARGV[6], at most ARGV[7]).
var claimIdleScript = redis.NewScript(luaCommon + luaTake + `
local r = redis.call('XAUTOCLAIM', stream, group, consumer, ARGV[5], ARGV[6], 'COUNT', ARGV[7])
for _, e in ipairs(r[2]) do
  if e then
    local p = redis.call('XPENDING', stream, group, e[1], e[1], 1, consumer)
    if #p > 0 then take(e[1], e[2], p[1][4]) end
  end
end
return {r[1], out, deadCount}
`)

// touchScript sets the idle time of entries ARGV[6..] of topic ARGV[4] that
// are still pending for this consumer to ARGV[5] ms, without counting a
// delivery: 0 keeps an entry from being reclaimed. It returns how many it
// touched.
var touchScript = redis.NewScript(luaCommon + `
local stream = KEYS[tonumber(ARGV[4])]
local holds = holder(stream, #ARGV - 5)
local n = 0
for i = 6, #ARGV do
  if holds(ARGV[i]) then
    redis.call('XCLAIM', stream, group, consumer, 0, ARGV[i], 'IDLE', ARGV[5], 'JUSTID')
    n = n + 1
  end
end
return n
`)

// leaveScript hands every entry this consumer holds in topic ARGV[4] to the
// placeholder consumer ARGV[5], idle for ARGV[6] ms so that any consumer of
// the service reclaims it at once, then removes this consumer from the
// group: nothing it held is lost, and it does not linger in XINFO CONSUMERS.
// It returns how many entries it handed back.
var leaveScript = redis.NewScript(luaCommon + `
local stream = KEYS[tonumber(ARGV[4])]
if redis.call('EXISTS', stream) == 0 then return 0 end
local n = 0
while true do
  local p = redis.call('XPENDING', stream, group, '-', '+', 1000, consumer)
  if #p == 0 then break end
  for _, e in ipairs(p) do
    redis.call('XCLAIM', stream, group, ARGV[5], 0, e[1], 'IDLE', ARGV[6], 'JUSTID')
    n = n + 1
  end
end
redis.call('XGROUP', 'DELCONSUMER', stream, group, consumer)
return n
`)

// expireScript removes the consumers of topic ARGV[4]'s group that hold no
// pending entry and were idle for more than ARGV[5] ms: what crashed
// processes leave. Removing a consumer with nothing pending loses nothing.
// It returns how many it removed.
var expireScript = redis.NewScript(luaCommon + `
local stream = KEYS[tonumber(ARGV[4])]
local idle = tonumber(ARGV[5])
local n = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', stream, group)) do
  local name, pending, seen
  for i = 1, #c, 2 do
    if c[i] == 'name' then name = c[i + 1] end
    if c[i] == 'pending' then pending = c[i + 1] end
    if c[i] == 'idle' then seen = c[i + 1] end
  end
  if name ~= consumer and pending == 0 and seen > idle then
    redis.call('XGROUP', 'DELCONSUMER', stream, group, name)
    n = n + 1
  end
end
return n
`)

// trimScript trims the topic KEYS[1]. With consumer groups, it removes the
// entries every group is done with: those below each group's last delivered
// id and its oldest pending entry (XTRIM MINID); nothing undelivered or
// pending is ever trimmed. With none, it keeps the retention: at most
// ARGV[1] entries, none below the id ARGV[2]. It returns how many entries it
// removed.
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
if #groups == 0 then
  local n = redis.call('XTRIM', stream, 'MAXLEN', ARGV[1])
  return n + redis.call('XTRIM', stream, 'MINID', ARGV[2])
end
local minid = nil
for _, g in ipairs(groups) do
  local name, last
  for i = 1, #g, 2 do
    if g[i] == 'name' then name = g[i + 1] end
    if g[i] == 'last-delivered-id' then last = g[i + 1] end
  end
  -- last-delivered-id itself was delivered: keep entries above it
  local keep = last
  local p = redis.call('XPENDING', stream, name)
  if p[1] > 0 and less(p[2], keep) then keep = p[2] end
  if not minid or less(keep, minid) then minid = keep end
end
return redis.call('XTRIM', stream, 'MINID', minid)
`)
