/**
 * Keeps the cache's revoked set in step with the token_revocations table: everything at
 * start-up, then a poll by `revoked_at` so a revocation written straight into the database by
 * another service takes effect within one poll interval.
 *
 * The poll re-reads an overlap window behind its cursor, because rows committed by other
 * writers can carry a timestamp slightly older than the newest one already seen (clock skew,
 * a transaction that started earlier). Rows already applied are skipped by jti.
 */
import type { GatewayCache } from "./cache.ts";
import type { DataAccess, RevocationRow } from "./data-access.ts";

export interface RevocationSyncOptions {
  readonly cache: Pick<GatewayCache, "syncRevokedTokens" | "invalidateRevocation">;
  readonly data: Pick<DataAccess, "listRevocations" | "listRevocationsSince">;
  /** Poll interval in ms (0 = no timer: call `poll()` yourself). */
  readonly intervalMs: number;
  /** How far behind the newest seen `revoked_at` each poll looks again (default 5000 ms). */
  readonly overlapMs?: number;
  readonly onError?: (error: unknown) => void;
}

export interface RevocationSyncStats {
  readonly initialCount: number;
  readonly polls: number;
  readonly pollErrors: number;
  readonly applied: number;
  readonly cursor: number;
}

export interface RevocationSync {
  /** Loads every revocation into the cache; resolves with the count. */
  start(): Promise<number>;
  /** One incremental poll; resolves with how many new revocations it applied. */
  poll(): Promise<number>;
  /** Records a revocation this process already applied, so the poll does not apply it again. */
  markApplied(jti: string, revokedAt: number): void;
  stats(): RevocationSyncStats;
  stop(): void;
}

export function createRevocationSync(options: RevocationSyncOptions): RevocationSync {
  const overlapMs = options.overlapMs ?? 5000;
  // jti -> revoked_at, kept only for rows inside the overlap window.
  const seen = new Map<string, number>();
  let cursor = 0;
  let initialCount = 0;
  let polls = 0;
  let pollErrors = 0;
  let applied = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  let running: Promise<number> | undefined;

  const remember = (row: Pick<RevocationRow, "jti" | "revokedAt">) => {
    seen.set(row.jti, row.revokedAt);
    if (row.revokedAt > cursor) cursor = row.revokedAt;
  };
  const prune = () => {
    for (const [jti, at] of seen) if (at < cursor - overlapMs) seen.delete(jti);
  };

  const pollOnce = async (): Promise<number> => {
    polls += 1;
    const rows = await options.data.listRevocationsSince(cursor - overlapMs);
    let fresh = 0;
    for (const row of rows) {
      if (!seen.has(row.jti)) {
        // invalidateRevocation (not syncRevokedTokens) so contexts already cached for this jti
        // are dropped on every instance, not only marked in the revoked set.
        await options.cache.invalidateRevocation(row.jti, row.expiresAt ?? undefined);
        fresh += 1;
      }
      remember(row);
    }
    applied += fresh;
    prune();
    return fresh;
  };

  const sync: RevocationSync = {
    async start() {
      const rows = await options.data.listRevocations();
      initialCount = await options.cache.syncRevokedTokens(
        rows.map((r) => (r.expiresAt == null ? r.jti : { jti: r.jti, expiresAt: r.expiresAt })),
      );
      for (const row of rows) remember(row);
      prune();
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
    markApplied(jti, revokedAt) {
      seen.set(jti, revokedAt);
    },
    stats: () => ({ initialCount, polls, pollErrors, applied, cursor }),
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
  return sync;
}
