import { createHash } from "node:crypto";
import type { RedisClient } from "./connection.ts";

/**
 * Server-side scripts for the operations that must be atomic. Each script touches only keys
 * in one cluster slot: the caller groups work per slot before running it.
 * Times are the server's (TIME), the same clock `PXAT` uses, so member expiry and key
 * expiry agree whatever the client clocks say.
 */

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// Adds `member` to the owner index `idx` (a sorted set scored by the member's expiry), prunes
// members already expired (so an index stays bounded by its live entries) and keeps the index
// alive as long as its longest-lived member.
const INDEX_ADD_FN = `local function index_add(idx, member, exp, now)
  redis.call('ZREMRANGEBYSCORE', idx, '-inf', now)
  redis.call('ZADD', idx, 'GT', exp, member)
  local at = redis.call('PEXPIRETIME', idx)
  if at < exp then redis.call('PEXPIREAT', idx, exp) end
end`;

/** Keys: entry, [fence], owner indexes... Args: value, expiresAt, fence value or "".
 *  Returns 1 if written (or deleted, for a past deadline), 0 if the fence had moved. */
export const SET_ENTRY = `${INDEX_ADD_FN}
local exp = tonumber(ARGV[2])
local first = 2
if ARGV[3] ~= '' then
  local fence = tonumber(redis.call('GET', KEYS[2]) or '0')
  if fence ~= tonumber(ARGV[3]) then return 0 end
  first = 3
end
${NOW}
if exp <= now then
  redis.call('DEL', KEYS[1])
  return 1
end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', exp)
for i = first, #KEYS do index_add(KEYS[i], KEYS[1], exp, now) end
return 1`;

/** Keys: owner index. Args: member, expiresAt. For owners in another slot than the entry. */
export const INDEX_ADD = `${INDEX_ADD_FN}
local exp = tonumber(ARGV[2])
${NOW}
if exp > now then index_add(KEYS[1], ARGV[1], exp, now) end
return 1`;

/** Keys: owner index. Args: "1" to delete every member here (standalone), "0" to delete only
 *  the members sharing the index's hash tag (cluster: same slot). Deletes the index and
 *  returns the members it did not delete, for the caller to delete slot by slot. */
export const DELETE_OWNER = `local function tag(k)
  local s = string.find(k, '{', 1, true)
  if s then
    local e = string.find(k, '}', s + 1, true)
    if e and e > s + 1 then return string.sub(k, s + 1, e - 1) end
  end
  return k
end
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
local here, elsewhere = {}, {}
if ARGV[1] == '1' then
  here = members
else
  local own = tag(KEYS[1])
  for i = 1, #members do
    if tag(members[i]) == own then here[#here + 1] = members[i]
    else elsewhere[#elsewhere + 1] = members[i] end
  end
end
for i = 1, #here, 500 do
  redis.call('DEL', unpack(here, i, math.min(i + 499, #here)))
end
return elsewhere`;

/** Keys: counter. Args: expiresAt or "". Returns the new value; the counter lives at least
 *  until expiresAt (never shortened, and a counter without expiry keeps none). */
export const INCR = `local v = redis.call('INCR', KEYS[1])
if ARGV[1] ~= '' then
  local exp = tonumber(ARGV[1])
  ${NOW.replace("\n", "\n  ")}
  local at = redis.call('PEXPIRETIME', KEYS[1])
  if exp > now and ((at == -1 and v == 1) or (at >= 0 and at < exp)) then
    redis.call('PEXPIREAT', KEYS[1], exp)
  end
end
return v`;

/** Keys: set. Args: member, expiresAt. A later deadline wins; expired members are pruned and
 *  the set itself expires with its last member. */
export const ADD_MEMBER = `local exp = tonumber(ARGV[2])
${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if exp > now then redis.call('ZADD', KEYS[1], 'GT', exp, ARGV[1]) end
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if top[2] then redis.call('PEXPIREAT', KEYS[1], math.ceil(tonumber(top[2]))) end
return 1`;

/** Keys: set. Returns the number of live members. */
export const COUNT_MEMBERS = `${NOW}
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')`;

/** A script sent by hash, and by source only when the server does not know it yet. */
export class Script {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash("sha1").update(source).digest("hex");
  }

  async run(client: RedisClient, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.includes("NOSCRIPT")) throw error;
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
