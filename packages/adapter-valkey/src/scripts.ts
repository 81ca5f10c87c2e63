import { SCRIPTS, type ScriptName } from "@authcache/redis-protocol";
import { Script } from "@valkey/valkey-glide";

// glide keeps a Script's code in native memory until release(); these few are created once per
// process and shared by every store, so their memory is fixed.
const cache = new Map<ScriptName, Script>();

/** Returns the shared glide Script of one of the protocol's scripts (glide loads it on the
 *  server on first use, and again after a `NOSCRIPT`). */
export function script(name: ScriptName): Script {
  let s = cache.get(name);
  if (!s) {
    s = new Script(SCRIPTS[name]);
    cache.set(name, s);
  }
  return s;
}
