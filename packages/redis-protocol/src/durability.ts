/**
 * Invalidation durability: replication is asynchronous, so a master that fails over can lose
 * writes it already acknowledged. When those writes are an invalidation (the L2 deletes, the
 * fence and generation bumps, a revocation, the log entry), the new master still holds what
 * the invalidation removed. With `durability`, each invalidation write is followed, on the
 * same connection, by `WAIT replicas timeoutMs` (or `WAITAOF local replicas timeoutMs` with
 * `aof`), and the write reports failure unless enough replicas acknowledged it: the caller
 * retries (an outbox would) instead of believing a write that one failover can undo.
 *
 * What it costs: one more round trip per invalidation write, for the replica's acknowledgement
 * (on a healthy link, about one replication round trip); WAIT blocks the connection it runs
 * on, so commands queued behind it on that connection wait too, up to `timeoutMs` when a
 * replica lags or is down. Fills (`set`, `setIfFence`) are not waited for: losing one only
 * costs a miss.
 */

/** Options of the durability of invalidation writes. */
export interface DurabilityOptions {
  /** Replicas that must acknowledge each invalidation write (>= 1). */
  readonly replicas: number;
  /** How long to wait for them, in ms (>= 1; WAIT 0 would wait forever, so 0 is refused). */
  readonly timeoutMs: number;
  /** Wait with `WAITAOF` for the write to be fsynced to the append-only file: on the master
   *  too when `aof` is "local" (needs `appendonly yes` there), on the replicas only when
   *  "replicas". Default: `WAIT` (replicas received it, in memory). */
  readonly aof?: "local" | "replicas";
}

/** Returns `durability` checked (a RangeError naming the field otherwise), or undefined. */
export function checkDurability(
  durability: DurabilityOptions | undefined,
  what: string,
): DurabilityOptions | undefined {
  if (durability === undefined) return undefined;
  if (typeof durability !== "object" || durability === null)
    throw new RangeError(`${what}: durability must be an object { replicas, timeoutMs }`);
  const { replicas, timeoutMs, aof } = durability;
  if (!Number.isSafeInteger(replicas) || replicas < 1 || replicas > 100)
    throw new RangeError(
      `${what}: durability.replicas must be an integer from 1 to 100, got ${replicas}`,
    );
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 60_000)
    throw new RangeError(
      `${what}: durability.timeoutMs must be an integer from 1 to 60000, got ${timeoutMs}`,
    );
  if (aof !== undefined && aof !== "local" && aof !== "replicas")
    throw new RangeError(
      `${what}: durability.aof must be "local", "replicas" or absent, got ${JSON.stringify(aof)}`,
    );
  return { replicas, timeoutMs, ...(aof === undefined ? {} : { aof }) };
}

/** The command to send after an invalidation write, on its connection. */
export function durabilityCommand(d: DurabilityOptions): string[] {
  if (d.aof === undefined) return ["WAIT", String(d.replicas), String(d.timeoutMs)];
  return ["WAITAOF", d.aof === "local" ? "1" : "0", String(d.replicas), String(d.timeoutMs)];
}

/** Throws unless the reply of `durabilityCommand(d)` shows enough acknowledgements. */
export function checkDurabilityReply(d: DurabilityOptions, reply: unknown): void {
  let replicas: number;
  let local = 1;
  if (Array.isArray(reply)) {
    local = Number(reply[0]);
    replicas = Number(reply[1]);
  } else {
    replicas = Number(reply);
  }
  if (!Number.isFinite(replicas) || replicas < d.replicas || (d.aof === "local" && local < 1))
    throw new Error(
      `durability: ${d.replicas} replica acknowledgement(s) required within ${d.timeoutMs} ms, got ${Number.isFinite(replicas) ? replicas : JSON.stringify(reply)}` +
        (d.aof === "local" && local < 1 ? " (and no local AOF fsync)" : "") +
        "; the write was applied on the master but may not survive a failover",
    );
}
