/**
 * Keeps the cache's revoked set in step with the token_revocations table: everything at
 * start-up, then a poll of the change log `token_revocation_changes`, so a revocation written
 * straight into the database by another service takes effect within one poll interval (plus the
 * cache's `maxStaleMs` on the other instances).
 *
 * The poll follows `seq`, an order the database assigns (AUTOINCREMENT, filled by a trigger on
 * every insert into token_revocations), never a writer's clock: a row stamped with any
 * `revoked_at` — a minute in the past, or by a host whose clock is behind — is seen on the next
 * poll. A writer only has to INSERT into token_revocations; it must not write the change log.
 */
import type { GatewayCache } from "./cache.ts";
import type { DataAccess } from "./data-access.ts";

export interface RevocationSyncOptions {
  readonly cache: Pick<GatewayCache, "syncRevokedTokens" | "invalidateRevocation">;
  readonly data: Pick<DataAccess, "loadRevocationSnapshot" | "listRevocationChanges">;
  /** Poll interval in ms (0 = no timer: call `poll()` yourself). */
  readonly intervalMs: number;
  /** Change-log entries read per round trip (default 1000); a poll reads until it is caught up. */
  readonly batchSize?: number;
  readonly onError?: (error: unknown) => void;
}

export interface RevocationSyncStats {
  readonly initialCount: number;
  readonly polls: number;
  readonly pollErrors: number;
  readonly applied: number;
  /** The last change-log `seq` applied. */
  readonly cursor: number;
}

export interface RevocationSync {
  /** Loads every revocation into the cache; resolves with the count. */
  start(): Promise<number>;
  /** One incremental poll; resolves with how many new revocations it applied. */
  poll(): Promise<number>;
  /** Records a revocation this process already applied, so the poll does not apply it again. */
  markApplied(jti: string): void;
  stats(): RevocationSyncStats;
  stop(): void;
}

/** How many of this process's own revocations are remembered (to skip them once in the log). */
const OWN_LIMIT = 10_000;

export function createRevocationSync(options: RevocationSyncOptions): RevocationSync {
  const batchSize = options.batchSize ?? 1000;
  // jtis this process revoked itself, in insertion order; skipped (and forgotten) when the poll
  // meets them. Applying them again would be harmless, only wasted bus traffic.
  const own = new Set<string>();
  let cursor = 0;
  let initialCount = 0;
  let polls = 0;
  let pollErrors = 0;
  let applied = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  let running: Promise<number> | undefined;

  // A start-up snapshot the cache could not fully write (L2 or the bus down): it is already in
  // this instance's revoked set; every poll offers it again until the cache takes it.
  let pendingSnapshot: (string | { jti: string; expiresAt: number })[] | undefined;

  const pollOnce = async (): Promise<number> => {
    polls += 1;
    let fresh = 0;
    if (pendingSnapshot !== undefined) {
      await options.cache.syncRevokedTokens(pendingSnapshot);
      pendingSnapshot = undefined;
    }
    for (;;) {
      const changes = await options.data.listRevocationChanges(cursor, batchSize);
      for (const change of changes) {
        if (own.delete(change.jti)) {
          cursor = change.seq;
          continue;
        }
        // invalidateRevocation (not syncRevokedTokens) so contexts already cached for this jti
        // are dropped on every instance, not only marked in the revoked set.
        await options.cache.invalidateRevocation(change.jti, change.expiresAt ?? undefined);
        cursor = change.seq;
        fresh += 1;
        applied += 1;
      }
      if (changes.length < batchSize) return fresh;
    }
  };

  const sync: RevocationSync = {
    async start() {
      const snapshot = await options.data.loadRevocationSnapshot();
      const rows = snapshot.rows.map((r) =>
        r.expiresAt == null ? r.jti : { jti: r.jti, expiresAt: r.expiresAt },
      );
      try {
        initialCount = await options.cache.syncRevokedTokens(rows);
      } catch (error) {
        // The cache rejects when L2 or the bus missed some of it (applied here all the same):
        // start anyway, fail closed where it must, and retry on every poll until it lands.
        initialCount = rows.length;
        pendingSnapshot = rows;
        pollErrors += 1;
        options.onError?.(error);
      }
      cursor = snapshot.cursor;
      if (options.intervalMs > 0) {
        timer = setInterval(() => {
          sync.poll().catch(() => {});
        }, options.intervalMs);
        // Never keep a process alive just to poll.
        (timer as { unref?: () => void }).unref?.();
      }
      return initialCount;
    },
    poll() {
      // One poll at a time: a slow database must not stack polls up.
      if (running) return running;
      running = pollOnce()
        .catch((error: unknown) => {
          pollErrors += 1;
          options.onError?.(error);
          throw error;
        })
        .finally(() => {
          running = undefined;
        });
      return running;
    },
    markApplied(jti) {
      own.add(jti);
      if (own.size > OWN_LIMIT) {
        const oldest = own.values().next().value;
        if (oldest !== undefined) own.delete(oldest);
      }
    },
    stats: () => ({ initialCount, polls, pollErrors, applied, cursor }),
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
  return sync;
}
