/**
 * The Lua scripts of the store, one source for both adapters (so one SHA1 on the server,
 * whichever client loaded it). Each runs atomically and touches only the keys it is given in
 * KEYS, which the caller arranges to share one cluster slot (see `planWrite`,
 * `planDeleteOwner`).
 *
 * The clock in scripts is the server's (`TIME`), never the caller's: the server already
 * expires every key by its own clock (`PXAT`, `PEXPIREAT`), so pruning members and refusing a
 * past deadline by that same clock adds no second clock. With the caller's clock, the instance
 * whose clock runs fastest would prune revocations that the others still need.
 */

export const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** Adds `member` to the sorted set `idx` scored by its deadline (a later deadline wins),
 *  prunes members already expired (so a set stays bounded by its live members) and keeps the
 *  set alive as long as its longest-lived member. */
export const INDEX_ADD_FN = `local function index_add(idx, member, exp, now)
  redis.call('ZREMRANGEBYSCORE', idx, '-inf', now)
  redis.call('ZADD', idx, 'GT', exp, member)
  if redis.call('PEXPIRETIME', idx) < exp then redis.call('PEXPIREAT', idx, exp) end
end`;

/** KEYS: entry, [fence], owner indexes in the entry's slot. ARGV: value, deadline, expected
 *  fence value or "" (no fence). Returns 0 (nothing written) if the fence moved, else 1: the
 *  entry is written until the deadline and indexed, or deleted when the deadline is past. */
const SET_ENTRY = `${INDEX_ADD_FN}
local exp = tonumber(ARGV[2])
local first = 2
if ARGV[3] ~= '' then
  if (tonumber(redis.call('GET', KEYS[2])) or 0) ~= tonumber(ARGV[3]) then return 0 end
  first = 3
end
${NOW}
if exp <= now then
  redis.call('DEL', KEYS[1])
  return 1
end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
for i = first, #KEYS do index_add(KEYS[i], KEYS[1], exp, now) end
return 1`;

/** KEYS: one sorted set (an owner index in another slot than its entry, or a member set).
 *  ARGV: member, deadline. A deadline already past adds nothing (but still prunes). */
const INDEX_ADD = `${INDEX_ADD_FN}
local exp = tonumber(ARGV[2])
${NOW}
if exp > now then index_add(KEYS[1], ARGV[1], exp, now)
else redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) end
return 1`;

/** Standalone. KEYS: owner index. Deletes every key it lists, then the index, atomically.
 *  DEL takes the keys in chunks because Lua's unpack has a stack limit. Returns the count. */
const DELETE_OWNER = `local members = redis.call('ZRANGE', KEYS[1], 0, -1)
for i = 1, #members, 500 do
  redis.call('DEL', unpack(members, i, math.min(i + 499, #members)))
end
redis.call('DEL', KEYS[1])
return #members`;

/** Cluster, last step. KEYS: owner index, then its members in the index's own slot. ARGV:
 *  every member read from the index (those in other slots already deleted). Deletes the local
 *  members and unindexes all of them; the index goes when empty, so a key indexed after the
 *  read stays indexed for the next deleteOwner. Returns the count unindexed. */
const DELETE_OWNER_LOCAL = `for i = 2, #KEYS, 500 do
  redis.call('DEL', unpack(KEYS, i, math.min(i + 499, #KEYS)))
end
for i = 1, #ARGV, 500 do
  redis.call('ZREM', KEYS[1], unpack(ARGV, i, math.min(i + 499, #ARGV)))
end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[1]) end
return #ARGV`;

/** KEYS: counter. ARGV: deadline or "". Returns the new value. The rule for a counter's expiry:
 *  a counter this call creates gets the deadline; an existing one is only ever extended (a
 *  persistent counter stays persistent); a deadline already past changes no expiry. */
const INCR = `local existed = redis.call('EXISTS', KEYS[1])
local v = redis.call('INCR', KEYS[1])
if ARGV[1] ~= '' then
  local exp = tonumber(ARGV[1])
  ${NOW.replace("\n", "\n  ")}
  if exp > now then
    local at = redis.call('PEXPIRETIME', KEYS[1])
    if existed == 0 or (at >= 0 and at < exp) then redis.call('PEXPIREAT', KEYS[1], exp) end
  end
end
return v`;

/** Every script of the store, by name. */
export const SCRIPTS = {
  setEntry: SET_ENTRY,
  indexAdd: INDEX_ADD,
  deleteOwner: DELETE_OWNER,
  deleteOwnerLocal: DELETE_OWNER_LOCAL,
  incr: INCR,
} as const;

export type ScriptName = keyof typeof SCRIPTS;
