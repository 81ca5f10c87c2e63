import type { RevokedToken } from "./contracts.ts";
import type { Engine } from "./engine.ts";
import type { AuthCacheError } from "./errors.ts";
import { ExpiringSet } from "./expiring-set.ts";
import { MAX_IDENTIFIER_LENGTH } from "./message.ts";
import { isPlainObject, MAX_LIFETIME_MS, type RevocationEntry, typeError } from "./values.ts";

/**
 * The revocations this instance knows: by jti (revoked here, read from L2, or synced), and,
 * under `hashIdentifiers`, by hashed jti (heard from the log, which names jtis only by their
 * HMAC). A jti heard by hash is learnt on its next read here (see {@link isRevoked}); nothing
 * is filled for it meanwhile. Revocations survive every flush, `invalidateAll` included.
 */
export class Revocations {
  private readonly byJti = new ExpiringSet();
  private readonly heard = new ExpiringSet();

  /** `hid` maps a jti to its hashed form (the one log entries carry). */
  constructor(
    private readonly retentionMs: number,
    private readonly hid: (identifier: string) => string,
  ) {}

  /** The deadline of a revocation with no known token expiry, revoked at `now`. */
  retainUntil(now: number): number {
    return now + this.retentionMs;
  }

  /** Whether `jti` is known revoked here by jti (the check of every L1 hit: no hashing). */
  known(jti: string, now: number): boolean {
    return this.byJti.size > 0 && this.byJti.has(jti, now);
  }

  /** Whether `jti` is revoked, by jti or as heard by hash (then learnt by jti). */
  isRevoked(jti: string, now: number): boolean {
    return this.byJti.has(jti, now) || this.heardRevoked(jti, now);
  }

  /** Whether the log told us (by hashed jti) that `jti` is revoked; if so, this instance now
   *  knows the jti itself and keeps it in its revoked set. */
  heardRevoked(jti: string, now: number): boolean {
    if (this.heard.size === 0) return false;
    const h = this.hid(jti);
    if (!this.heard.has(h, now)) return false;
    this.byJti.add(jti, this.heard.deadline(h) ?? this.retainUntil(now), now);
    return true;
  }

  /** Records `jti` revoked until `until`. */
  add(jti: string, until: number, now: number): void {
    this.byJti.add(jti, until, now);
  }

  /** Records a jti heard by its hash revoked until `until`. */
  addHeard(hashedJti: string, until: number, now: number): void {
    this.heard.add(hashedJti, until, now);
  }

  /** Live revocations (one known both ways counts twice). */
  countLive(now: number): number {
    return this.byJti.countLive(now) + this.heard.countLive(now);
  }

  sweep(now: number, budget: number): void {
    this.byJti.sweep(now, budget);
    this.heard.sweep(now, budget);
  }
}

/** Where `syncRevokedTokens` reads revocations from: any (async) iterable, or a function
 *  returning one (a database query). */
export type RevocationSource =
  | Iterable<RevocationEntry>
  | AsyncIterable<RevocationEntry>
  | (() =>
      | Iterable<RevocationEntry>
      | AsyncIterable<RevocationEntry>
      | Promise<Iterable<RevocationEntry> | AsyncIterable<RevocationEntry>>);

/** Revocations a sync applies, writes and publishes together (a few log entries). */
const SYNC_CHUNK = 4_096;

/**
 * `syncRevokedTokens`: reads `source`, skips (and logs) malformed entries and over-long jtis,
 * clamps each deadline to MAX_LIFETIME_MS, and revokes them in chunks. Every chunk is attempted;
 * then a store or bus failure rejects with an InvalidationError, as any invalidation does
 * (another instance may not have them; calling again is safe). Returns how many were loaded.
 */
export async function syncRevocations(engine: Engine, source: RevocationSource): Promise<number> {
  let iterable: unknown = source;
  if (typeof source === "function") iterable = await source();
  if (!isIterable(iterable)) {
    throw typeError("source", "an iterable of revocations or a function", source);
  }
  let count = 0;
  let chunk: RevokedToken[] = [];
  const storeFailures: AuthCacheError[] = [];
  const busFailures: AuthCacheError[] = [];
  for await (const entry of iterable) {
    const parsed = parseRevocation(entry);
    if (parsed === undefined) {
      engine.warn("syncRevokedTokens: skipped an entry that is not a jti or { jti, expiresAt }");
      continue;
    }
    if (parsed.jti.length > MAX_IDENTIFIER_LENGTH) {
      engine.warn(
        `syncRevokedTokens: skipped a jti longer than ${MAX_IDENTIFIER_LENGTH} characters`,
      );
      continue;
    }
    if (!engine.enabled) {
      count++;
      continue;
    }
    const now = engine.now();
    // Clamped, never refused: a bulk source's absurd expiry still revokes (see checkExpiresAt).
    const deadline = Math.min(parsed.expiresAt ?? engine.retainUntil(), now + MAX_LIFETIME_MS);
    if (!(deadline > now)) continue;
    count++;
    chunk.push({ jti: parsed.jti, expiresAt: deadline });
    if (chunk.length >= SYNC_CHUNK) {
      await engine.revokeMany(chunk, storeFailures, busFailures);
      chunk = [];
    }
  }
  if (chunk.length > 0) await engine.revokeMany(chunk, storeFailures, busFailures);
  // Either failure rejects: an instance that cannot hear the log reads L2, so a revocation
  // missing from L2's revoked set would read as "not revoked" there (the explorer found it).
  if (busFailures.length > 0 || storeFailures.length > 0) {
    engine.finish("syncRevokedTokens", [...busFailures, ...storeFailures]);
  }
  return count;
}

function isIterable(v: unknown): v is Iterable<unknown> | AsyncIterable<unknown> {
  return typeof v === "object" && v !== null && (Symbol.iterator in v || Symbol.asyncIterator in v);
}

function parseRevocation(entry: unknown): { jti: string; expiresAt?: number } | undefined {
  if (typeof entry === "string") return { jti: entry };
  if (!isPlainObject(entry) || typeof entry.jti !== "string") return undefined;
  const exp = entry.expiresAt;
  if (exp === undefined || exp === null) return { jti: entry.jti };
  if (typeof exp !== "number" || !Number.isFinite(exp)) return undefined;
  return { jti: entry.jti, expiresAt: exp };
}
