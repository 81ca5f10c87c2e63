/**
 * authcache's side of each scenario is loaded at run time, not imported statically: packages land
 * while the benchmarks are being written, and a scenario whose package is missing still runs its
 * baselines and peers and says exactly what it could not measure. The interfaces below are the
 * slice of the public API (shared/DESIGN.md) the benchmarks use.
 */

export interface AuthContextValue {
  readonly user: unknown;
  readonly personalTeamId: string | null;
  readonly isTokenRevoked: boolean;
}

export interface AuthCacheLike {
  getAuthContext(email: string, jti?: string): Promise<AuthContextValue | undefined>;
  /** The L1-only synchronous read, when core offers it. */
  getAuthContextSync?(email: string, jti?: string): AuthContextValue | undefined;
  setAuthContext(email: string, jti: string, ctx: AuthContextValue): Promise<void>;
  resolveAuthContext(
    email: string,
    jti: string,
    loader: () => Promise<AuthContextValue>,
  ): Promise<AuthContextValue | undefined>;
  invalidateUser(email: string): Promise<void>;
  invalidateRevocation(jti: string, expiresAt?: number): Promise<void>;
  isTokenRevoked(jti: string): Promise<boolean | undefined>;
  stats(): Record<string, unknown>;
  close(): Promise<void>;
}

export interface L1CacheLike<V> {
  get(key: string, now: number): V | undefined;
  set(key: string, value: V, expiresAt: number, now: number): void;
  delete(key: string): void;
  clear(): void;
  readonly size: number;
  readonly evictions: number;
}

export interface CoreModule {
  createAuthCache(options: Record<string, unknown>): AuthCacheLike;
  L1Cache: new (options: { maxEntries: number }) => L1CacheLike<unknown>;
}

export type Loaded<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Imports a workspace package and picks `names` from it; a missing export is a reason, not a throw. */
export async function loadExports<T>(pkg: string, names: string[]): Promise<Loaded<T>> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pkg)) as Record<string, unknown>;
  } catch (e) {
    return { ok: false, reason: `${pkg} failed to import: ${(e as Error).message.split("\n")[0]}` };
  }
  const absent = names.filter((n) => mod[n] === undefined);
  if (absent.length)
    return { ok: false, reason: `${pkg} does not export ${absent.join(", ")} yet` };
  return { ok: true, value: mod as T };
}

export function loadCore(): Promise<Loaded<CoreModule>> {
  return loadExports<CoreModule>("@authcache/core", ["createAuthCache", "L1Cache"]);
}

/** core's L1Cache is internal (not exported by `@authcache/core`): loaded from its source. */
export async function loadL1(): Promise<Loaded<CoreModule["L1Cache"]>> {
  const source = new URL("../../../packages/core/src/l1-cache.ts", import.meta.url).href;
  const m = await loadExports<CoreModule>(source, ["L1Cache"]);
  return m.ok ? { ok: true, value: m.value.L1Cache } : m;
}

export async function loadCreateAuthCache(): Promise<Loaded<CoreModule["createAuthCache"]>> {
  const m = await loadExports<CoreModule>("@authcache/core", ["createAuthCache"]);
  return m.ok ? { ok: true, value: m.value.createAuthCache } : m;
}

/** A context like the gateway caches: a user row without secrets, a team id, not revoked. */
export function sampleContext(i: number): AuthContextValue {
  return {
    user: {
      email: `user${i}@example.com`,
      fullName: `User Number ${i}`,
      isAdmin: i % 50 === 0,
      isActive: true,
      authProvider: "local",
      createdAt: "2026-01-01T00:00:00.000Z",
    },
    personalTeamId: `team-personal-${i}`,
    isTokenRevoked: false,
  };
}
