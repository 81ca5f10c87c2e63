/**
 * The invalidation log on Redis/Valkey, one layout for both adapters, so an ioredis instance and
 * a valkey-glide instance on one server follow one log.
 *
 * A log named N (default: the cache prefix + "log", e.g. `authcache:log`) is two keys that share
 * the hash tag `{N}`, so one cluster slot:
 * - `{N}:entries`, a Stream; each entry has the fields `m` (the encoded message), `e` (the epoch
 *   it was appended in) and `s` (its sequence number in that epoch);
 * - `{N}:meta`, a hash: `epoch` (the log's identity), `seq` (the newest sequence number) and `id`
 *   (the Stream id of the newest entry).
 * `APPEND` assigns epoch and sequence number atomically with the XADD; an epoch is created (and
 * any Stream left without one deleted) whenever the log has none: after a FLUSHALL, a restart
 * without persistence, a failover to a replica that never had it, or a deleted meta key. A
 * follower reads with one pipeline, `HMGET meta` then `XREAD BLOCK`, and core's follower
 * (`createLogBus`) resets on a new epoch or any gap.
 */
import type { LogEntry, LogPosition, LogRead, StoreWrite } from "@authcache/core/adapter";
import { INDEX_ADD_FN, NOW } from "./scripts.ts";
import { deadline } from "./store.ts";

/** Defaults both adapters use. */
export const STREAM_DEFAULTS = {
  /** Entries kept (approximately: `XADD MAXLEN ~`). */
  maxLength: 10_000,
  /** A healthy follower confirms at least this often. */
  confirmIntervalMs: 250,
} as const;

/** The cache's default prefix (core's), which default log names follow. */
export const DEFAULT_PREFIX = "authcache:";

/** A blocking read waits a third of the confirm interval by default: a confirmation is dated by
 *  its read's sending, so between two confirmations up to two reads (and their round trips)
 *  pass. */
export function defaultBlockMs(confirmIntervalMs: number): number {
  return Math.max(1, Math.floor(confirmIntervalMs / 3));
}

/** Returns a problem with `blockMs` for this confirm interval, or undefined when it is fine. */
export function blockMsProblem(blockMs: number, confirmIntervalMs: number): string | undefined {
  if (!Number.isSafeInteger(blockMs) || blockMs <= 0) return "must be a positive integer";
  if (blockMs * 2 > confirmIntervalMs) return "must be at most half of confirmIntervalMs";
  return undefined;
}

/** The keys of one log. */
export interface LogKeys {
  /** The log's name (from the prefix or given). */
  readonly name: string;
  /** The Stream of entries. */
  readonly entries: string;
  /** The hash holding the epoch, the newest sequence number and its Stream id. */
  readonly meta: string;
}

/** Returns the log's name: `stream` when given, else the cache prefix + "log". Throws a
 *  RangeError naming the option when it cannot be a hash tag. */
export function logName(options: { prefix?: string; stream?: string }, what: string): string {
  const name = options.stream ?? `${options.prefix ?? DEFAULT_PREFIX}log`;
  const field = options.stream === undefined ? "prefix" : "stream";
  if (typeof name !== "string" || name.length === 0 || name.length > 512)
    throw new RangeError(`${what}: ${field} must give a log name of 1 to 512 characters`);
  if (!/^[\x21-\x7e]+$/.test(name) || name.includes("{") || name.includes("}"))
    throw new RangeError(
      `${what}: ${field} must be printable ASCII without spaces, { or } (the log name is a hash tag), got ${JSON.stringify(name)}`,
    );
  return name;
}

/** The keys of the log named `name` (one hash tag: one cluster slot). */
export function logKeys(name: string): LogKeys {
  return { name, entries: `{${name}}:entries`, meta: `{${name}}:meta` };
}

/** A fresh epoch for a log that has none (only used if the log has none when the script runs). */
export function newEpoch(): string {
  return globalThis.crypto.randomUUID();
}

/** Creates the log's identity when it has none, deleting any Stream left without one. */
const ENSURE_EPOCH = `local epoch = redis.call('HGET', KEYS[2], 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[2], 'epoch', epoch, 'seq', 0, 'id', '0-0')
end`;

/** Appends ARGV[3] with the next sequence number (after ENSURE_EPOCH); returns it. */
const APPEND = `local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'm', ARGV[3], 'e', epoch, 's', seq)
redis.call('HSET', KEYS[2], 'id', id)
return seq`;

/** The store writes of `appendAfter` (KEYS from 3, ARGV from 4; see `appendAfterCall`), made
 *  as the store's own scripts make them: "a" as `indexAdd`, "d" as `DEL`. A write that fails
 *  ends the script before anything is appended. */
const WRITES = `${NOW}
${INDEX_ADD_FN}
local k = 3
local i = 4
while i <= #ARGV do
  local op = ARGV[i]
  if op == 'a' then
    local exp = tonumber(ARGV[i + 2])
    if exp > now then index_add(KEYS[k], ARGV[i + 1], exp, now)
    else redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', now) end
    k = k + 1
    i = i + 3
  elseif op == 'd' then
    local last = k + tonumber(ARGV[i + 1]) - 1
    for j = k, last, 500 do redis.call('DEL', unpack(KEYS, j, math.min(j + 499, last))) end
    k = last + 1
    i = i + 2
  else
    return redis.error_reply('ERR authcache appendAfter: unknown write ' .. tostring(op))
  end
end`;

/** The log's scripts. KEYS of each: entries, meta (then, for `appendAfter`, the writes' keys). */
export const STREAM_SCRIPTS = {
  /** ARGV: an epoch for a log that has none, maxLength, message. Appends the entry with the
   *  next sequence number; returns it. */
  append: `${ENSURE_EPOCH}
${APPEND}`,
  /** The ordered publish (`InvalidationBus.publishAfter`), standalone only (its keys are in
   *  several slots). ARGV: as `append`, then the writes (see `appendAfterCall`). Makes the
   *  writes in order, then appends, atomically: no reader sees the entry without the writes. */
  appendAfter: `${WRITES}
${ENSURE_EPOCH}
${APPEND}`,
  /** ARGV: an epoch for a log that has none. Returns { epoch, seq, id }: where a follower
   *  starts. */
  end: `${ENSURE_EPOCH}
local m = redis.call('HMGET', KEYS[2], 'seq', 'id')
return {epoch, tonumber(m[1]) or 0, m[2] or '0-0'}`,
} as const;

/** The arguments of `STREAM_SCRIPTS.append` for `message`. */
export function appendArgs(message: string, maxLength: number): string[] {
  return [newEpoch(), String(maxLength), message];
}

/** KEYS and ARGV of `STREAM_SCRIPTS.appendAfter`: the log's keys, then each write's keys;
 *  `appendArgs`, then per write "a", member, deadline (KEYS: its set) or "d", count (KEYS: the
 *  keys to delete). */
export function appendAfterCall(
  log: LogKeys,
  writes: readonly StoreWrite[],
  message: string,
  maxLength: number,
): { keys: string[]; args: string[] } {
  const keys = [log.entries, log.meta];
  const args = appendArgs(message, maxLength);
  for (const w of writes) {
    if (w.op === "addMember") {
      keys.push(w.set);
      args.push("a", w.member, deadline(w.expiresAt));
    } else if (w.op === "delete") {
      keys.push(...w.keys);
      args.push("d", String(w.keys.length));
    } else {
      throw new TypeError(`appendAfter: unknown store write ${JSON.stringify(w)}`);
    }
  }
  return { keys, args };
}

/**
 * The `keyspace` (core's `Store.keyspace` and `InvalidationBus.keyspace`) of a standalone
 * server: one string for one server and database, whichever adapter (ioredis or valkey-glide)
 * computes it, so a store and a bus on the same server and database match. `host` is taken as
 * given (lower-cased): `localhost` and `127.0.0.1` do not match, which only costs the ordered
 * publish, never correctness. A cluster has no keyspace (its keys are in several slots). A TLS
 * server name, when set, is part of it (`route`). Users are not: two users of one server and
 * database see the same keys (one the ACL keeps off the store's keys makes the ordered publish
 * fail, and core falls back, then pauses it).
 */
export function redisKeyspace(
  host: string,
  port: number,
  db = 0,
  route: { readonly servername?: unknown } = {},
): string {
  const base = `redis-standalone:${host.toLowerCase()}:${port}/${db}`;
  // A TLS endpoint that routes by SNI (a proxy serving several databases on one port) reaches
  // different data per server name: a server name set explicitly is part of the keyspace.
  const sni = route.servername;
  return sni === undefined ? base : `${base}#sni=${JSON.stringify(String(sni))}`;
}

/** The arguments of `STREAM_SCRIPTS.end`. */
export function endArgs(): string[] {
  return [newEpoch()];
}

const str = (v: unknown): string | undefined =>
  v === null || v === undefined ? undefined : typeof v === "string" ? v : String(v);

/** Reads the reply of `STREAM_SCRIPTS.end` (an array of three). */
export function parseEnd(reply: unknown): LogPosition {
  if (!Array.isArray(reply) || reply.length < 3)
    throw new Error(`unexpected reply to the log's end script: ${JSON.stringify(reply)}`);
  const epoch = str(reply[0]);
  const seq = Number(reply[1]);
  if (epoch === undefined || !Number.isSafeInteger(seq))
    throw new Error(`unexpected reply to the log's end script: ${JSON.stringify(reply)}`);
  return { epoch, seq, cursor: str(reply[2]) ?? "0-0" };
}

/** The fields an entry is read by (a later duplicate wins, as in a map). */
interface Fields {
  m: string | undefined;
  e: string | undefined;
  s: string | undefined;
}

function setField(f: Fields, name: unknown, value: unknown): void {
  const k = str(name);
  if (k === "m" || k === "e" || k === "s") f[k] = str(value);
}

/** The fields of one entry, flat `[f, v, ...]`, pairs `[[f, v], ...]` or an object (read in
 *  place: no map per entry). */
function fieldsOf(raw: unknown): Fields {
  const out: Fields = { m: undefined, e: undefined, s: undefined };
  if (Array.isArray(raw)) {
    if (raw.length > 0 && Array.isArray(raw[0])) {
      for (const pair of raw as unknown[][]) setField(out, pair[0], pair[1]);
    } else {
      for (let i = 0; i + 1 < raw.length; i += 2) setField(out, raw[i], raw[i + 1]);
    }
  } else if (raw !== null && typeof raw === "object") {
    for (const [k, v] of Object.entries(raw)) setField(out, k, v);
  }
  return out;
}

function toEntry(id: string, fields: unknown): LogEntry {
  const f = fieldsOf(fields);
  const s = Number(f.s);
  return {
    seq: Number.isSafeInteger(s) && s > 0 ? s : undefined,
    epoch: f.e,
    cursor: id,
    data: f.m,
  };
}

/** The entries of an XREAD reply for one stream, whichever client shape: ioredis
 *  `[[key, [[id, [f, v, ...]], ...]]]`, a RESP3 map `{ key: [[id, fields], ...] }`, glide's
 *  `[{ key, value: { id: [[f, v], ...] } }]` or, in a batch, `[{ key, value: [{ key: id,
 *  value: [[f, v], ...] }] }]`. `null` (the block timed out) is no entries. */
export function parseEntries(reply: unknown): LogEntry[] {
  if (reply === null || reply === undefined) return [];
  let list: unknown = reply;
  if (Array.isArray(reply)) {
    const first = reply[0] as unknown;
    if (Array.isArray(first)) list = first[1];
    else if (first !== null && typeof first === "object" && "value" in first)
      list = (first as { value: unknown }).value;
    else return [];
  } else if (typeof reply === "object") {
    list = Object.values(reply as Record<string, unknown>)[0];
  }
  const out: LogEntry[] = [];
  if (Array.isArray(list)) {
    for (const item of list) {
      if (Array.isArray(item) && item.length >= 2) out.push(toEntry(String(str(item[0])), item[1]));
      else if (item !== null && typeof item === "object" && "key" in item && "value" in item)
        out.push(toEntry(String(str(item.key)), item.value));
    }
  } else if (list !== null && typeof list === "object") {
    for (const [id, fields] of Object.entries(list)) out.push(toEntry(id, fields));
  }
  return out;
}

/** One read from the replies of `HMGET meta epoch seq` and the XREAD sent after it. */
export function parseRead(meta: unknown, xread: unknown): LogRead {
  const m = Array.isArray(meta) ? meta : [];
  const seq = Number(str(m[1]) ?? 0);
  return {
    epoch: str(m[0]),
    head: Number.isSafeInteger(seq) ? seq : 0,
    entries: parseEntries(xread),
  };
}
