import { SCRIPTS } from "@authcache/redis-protocol";
import { Script } from "@valkey/valkey-glide";

/**
 * glide `Script` objects for the store's scripts (their sources are `@authcache/redis-protocol`'s,
 * shared with adapter-redis) and for the bus's stream position.
 */

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

const sources = { ...SCRIPTS, streamPosition: STREAM_POSITION } as const;

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
