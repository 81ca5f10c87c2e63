import { Script } from "@valkey/valkey-glide";

/**
 * The server-side scripts. Each is atomic on the server; in cluster mode each touches only the
 * keys passed in KEYS, which the store arranges to share one slot. Times are epoch ms from the
 * caller's clock (ARGV), so a deadline computed by the cache and the "now" it is compared to
 * come from the same clock.
 */

/** Adds `member` to the sorted set `idx` scored by its expiry (a later deadline wins), prunes
 *  members already expired, and keeps the set itself alive as long as its longest member. */
const INDEX_FN = `
local function index(idx, member, exp, now)
  redis.call('ZREMRANGEBYSCORE', idx, '-inf', now)
  redis.call('ZADD', idx, 'GT', exp, member)
  if redis.call('PEXPIRETIME', idx) < exp then redis.call('PEXPIREAT', idx, exp) end
end
`;

/** Writes KEYS[1] = ARGV[1] until ARGV[2] (or deletes it when that deadline is not after
 *  ARGV[3] = now) and records it in the owner indexes KEYS[firstOwner..]. */
const WRITE_FN = `
local function write(firstOwner)
  local exp, now = tonumber(ARGV[2]), tonumber(ARGV[3])
  if exp <= now then
    redis.call('DEL', KEYS[1])
    return 1
  end
  redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
  for i = firstOwner, #KEYS do index(KEYS[i], KEYS[1], exp, now) end
  return 1
end
`;

/** KEYS[1] = entry, KEYS[2..] = owner indexes in its slot; ARGV = value, expiresAt, now. */
const SET = `${INDEX_FN}${WRITE_FN}
return write(2)
`;

/** KEYS[1] = entry, KEYS[2] = fence counter, KEYS[3..] = owner indexes in its slot;
 *  ARGV = value, expiresAt, now, expected fence value. Returns 0 (nothing written) when the
 *  fence moved. */
const SET_IF_FENCE = `${INDEX_FN}${WRITE_FN}
if (tonumber(redis.call('GET', KEYS[2])) or 0) ~= tonumber(ARGV[4]) then return 0 end
return write(3)
`;

/** KEYS[1] = an owner index in another slot than the entry; ARGV = entry key, expiresAt, now. */
const INDEX = `${INDEX_FN}
local exp, now = tonumber(ARGV[2]), tonumber(ARGV[3])
if exp > now then index(KEYS[1], ARGV[1], exp, now) end
return 1
`;

/** KEYS[1] = set; ARGV = member, expiresAt, now. Same shape as INDEX, kept apart for clarity
 *  of intent: the revoked set is an index of members, not of keys. */
const ADD_MEMBER = INDEX;

/** Standalone: KEYS[1] = owner index. Deletes every key it lists, then the index, atomically.
 *  DEL takes the keys in chunks because Lua's unpack has a stack limit. */
const DELETE_OWNER = `
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
for i = 1, #members, 500 do
  redis.call('DEL', unpack(members, i, math.min(i + 499, #members)))
end
redis.call('DEL', KEYS[1])
return #members
`;

/** Cluster: KEYS[1] = owner index, KEYS[2..] = its members in the index's own slot;
 *  ARGV = every member read from the index (some already deleted in their own slots).
 *  Deletes the local members and unindexes all of them; the index goes when empty, so a key
 *  indexed after the read survives for the next deleteOwner. */
const DELETE_OWNER_LOCAL = `
for i = 2, #KEYS, 500 do
  redis.call('DEL', unpack(KEYS, i, math.min(i + 499, #KEYS)))
end
for i = 1, #ARGV, 500 do
  redis.call('ZREM', KEYS[1], unpack(ARGV, i, math.min(i + 499, #ARGV)))
end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[1]) end
return #ARGV
`;

/** KEYS[1] = counter; ARGV[1] = expiresAt or '' , ARGV[2] = now. A counter created here gets
 *  the deadline; an existing one is only ever extended, and a persistent one stays so. */
const INCR = `
local existed = redis.call('EXISTS', KEYS[1])
local v = redis.call('INCR', KEYS[1])
if ARGV[1] ~= '' then
  local exp, now = tonumber(ARGV[1]), tonumber(ARGV[2])
  if exp > now then
    local t = redis.call('PEXPIRETIME', KEYS[1])
    if existed == 0 or (t >= 0 and t < exp) then redis.call('PEXPIREAT', KEYS[1], exp) end
  end
end
return v
`;

/** KEYS[1] = stream. Returns {exists, entries-added, length, last-generated-id, run_id}: where
 *  the log stands and which server process holds it, read together so a follower can tell
 *  "trimmed past me" and "the log restarted" apart from "nothing new". */
const STREAM_POSITION = `
local rid = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)') or ''
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0, 0, '0-0', rid} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local added, len, last = 0, 0, '0-0'
for i = 1, #info, 2 do
  local k = info[i]
  if k == 'entries-added' then added = info[i + 1]
  elseif k == 'length' then len = info[i + 1]
  elseif k == 'last-generated-id' then last = info[i + 1] end
end
return {1, added, len, last, rid}
`;

const sources = {
  set: SET,
  setIfFence: SET_IF_FENCE,
  index: INDEX,
  addMember: ADD_MEMBER,
  deleteOwner: DELETE_OWNER,
  deleteOwnerLocal: DELETE_OWNER_LOCAL,
  incr: INCR,
  streamPosition: STREAM_POSITION,
} as const;

export type ScriptName = keyof typeof sources;

// glide keeps a Script's code in native memory until release(); these few are created once per
// process and shared by every store and bus, so their memory is fixed.
const cache = new Map<ScriptName, Script>();

/** Returns the shared Script object for `name` (glide loads it on the server on first use). */
export function script(name: ScriptName): Script {
  let s = cache.get(name);
  if (!s) {
    s = new Script(sources[name]);
    cache.set(name, s);
  }
  return s;
}
