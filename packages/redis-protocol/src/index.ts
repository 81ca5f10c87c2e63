/**
 * @authcache/redis-protocol: what the ioredis adapter (`@authcache/adapter-redis`) and the
 * valkey-glide adapter (`@authcache/adapter-valkey`) share, so that a fleet mixing them is one
 * fleet: the same keys, the same Lua (one SHA1), the same slot math and the same rules. It
 * imports no client library; each adapter is client glue over it.
 *
 * Where the two clients force a difference (and nowhere else):
 * - Queueing. ioredis queues any number of commands; glide rejects a request past its
 *   `inflightRequestsLimit`. adapter-valkey caps its in-flight requests (InFlightLimiter) and
 *   coalesces reads under load (ReadBatcher); adapter-redis needs neither.
 * - Pipelines in a cluster. An ioredis `Cluster` pipeline must stay in one slot, so
 *   adapter-redis sends one pipeline per `ReadGroup`, concurrently; a glide `ClusterBatch`
 *   (non-atomic) routes each command itself, so adapter-valkey sends every group in one batch.
 *   The commands on the wire are the same.
 * - Scripts. adapter-redis sends `EVALSHA` and falls back to `EVAL` on `NOSCRIPT`; glide's
 *   `Script`/`invokeScript` does the same inside the client. Both send `SCRIPTS`' sources.
 * - Replies. `ZSCORE` is a string in ioredis and a number in glide (`isLive` takes both).
 * - Connecting. ioredis connects and reconnects inside one client object; glide's client is
 *   created asynchronously and its creation can fail, so adapter-valkey opens it through a
 *   handle that retries on the next call.
 */
export {
  checkDurability,
  checkDurabilityReply,
  type DurabilityOptions,
  durabilityCommand,
} from "./durability.ts";
export { SCRIPTS, type ScriptName } from "./scripts.ts";
export { groupBySlot, keySlot, keysBySlot } from "./slot.ts";
export {
  addMemberCall,
  commandCount,
  counterValue,
  DEL_CHUNK,
  deadline,
  incrCall,
  isLive,
  planClusterDeleteOwner,
  planDelete,
  planRead,
  planWrite,
  type ReadGroup,
  readResult,
  type ScriptCall,
  standaloneDeleteOwner,
  text,
  type WritePlan,
} from "./store.ts";
export {
  appendAfterCall,
  appendArgs,
  blockMsProblem,
  DEFAULT_PREFIX,
  defaultBlockMs,
  endArgs,
  type LogKeys,
  logKeys,
  logName,
  parseEnd,
  parseEntries,
  parseRead,
  redisKeyspace,
  STREAM_DEFAULTS,
  STREAM_SCRIPTS,
} from "./stream.ts";
