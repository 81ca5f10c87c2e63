/**
 * The "database" of the staleness scenarios: users (active or not), tokens (revoked or not) and
 * roles, living in the test process. Every change is written here first and recorded in the
 * ground truth, then invalidated through a cache, as a gateway does.
 *
 * Entities compared by the checker (value = what a correct cache returns):
 *   ctx:<email>:<jti>   "revoked" | "<email>:active" | "<email>:inactive"
 *   role:<email>:<team> the role string, or null for "not a member"
 *   user:<email>        { email, active }
 *   revoked:<jti>       true | false   (an "unknown" answer is not a read of anything)
 */
import type { GroundTruth } from "./ground-truth.ts";

export interface UserRow {
  readonly email: string;
  active: boolean;
  readonly personalTeamId: string;
}

export interface TokenRow {
  readonly jti: string;
  readonly email: string;
  revoked: boolean;
}

/** What a loader spec asks for (sent over the worker protocol as JSON). */
export type LoadSpec =
  | { readonly kind: "ctx"; readonly email: string; readonly jti: string }
  | { readonly kind: "role"; readonly email: string; readonly teamId: string }
  | { readonly kind: "user"; readonly email: string };

/** A change applied to the database: which entities it touched, and how to invalidate it. */
export interface Change {
  readonly label: "revoke" | "role" | "deactivate" | "activate";
  readonly entities: readonly string[];
  /** The invalidation call a gateway makes after this change: method name and arguments. */
  readonly method: string;
  readonly args: readonly unknown[];
}

const ROLES: readonly (string | null)[] = [
  "owner",
  "member",
  "viewer",
  null,
  "",
  "__NOT_A_MEMBER__",
];

/** A small deterministic PRNG (mulberry32), so a failing run can be replayed by seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class AuthDb {
  readonly users: UserRow[] = [];
  readonly teams: string[] = [];
  readonly tokens = new Map<string, TokenRow>();
  readonly roles = new Map<string, string | null>();
  /** Loads served, by kind (the "database queries" of the scenario). */
  readonly loads = { ctx: 0, role: 0, user: 0 };
  private nextJti = 1;

  constructor(
    private readonly truth: GroundTruth,
    private readonly random: () => number,
    options: { users: number; teams: number; tokensPerUser: number },
  ) {
    for (let t = 0; t < options.teams; t++) this.teams.push(`team-${t}:{x}`);
    for (let u = 0; u < options.users; u++) {
      // Identifiers with the characters that broke the reference design's key patterns.
      const email =
        [`u${u}@corp.com`, `*${u}@corp.com`, `u${u}:[a]@x`, `{u${u}}@ü.de`][u % 4] ?? "";
      const user: UserRow = { email, active: true, personalTeamId: `personal-${u}` };
      this.users.push(user);
      this.truth.write(`user:${email}`, this.userView(user));
      for (const team of this.teams) {
        const role = this.pick(ROLES);
        this.roles.set(`${email}|${team}`, role);
        this.truth.write(`role:${email}:${team}`, role);
      }
      for (let k = 0; k < options.tokensPerUser; k++) this.mint(email);
    }
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.random() * items.length)];
    if (item === undefined) throw new Error("pick from an empty list");
    return item;
  }

  private user(email: string): UserRow {
    const u = this.users.find((x) => x.email === email);
    if (!u) throw new Error(`no user ${email}`);
    return u;
  }

  userView(u: UserRow): { email: string; active: boolean } {
    return { email: u.email, active: u.active };
  }

  ctxView(email: string, jti: string): string {
    const t = this.tokens.get(jti);
    if (!t || t.revoked) return "revoked";
    return `${email}:${this.user(email).active ? "active" : "inactive"}`;
  }

  /** A new token for `email` (its ctx and revocation entities start now). */
  mint(email: string): string {
    const jti = `jti-${this.nextJti++}`;
    this.tokens.set(jti, { jti, email, revoked: false });
    this.truth.write(`ctx:${email}:${jti}`, this.ctxView(email, jti));
    this.truth.write(`revoked:${jti}`, false);
    return jti;
  }

  /** Tokens of `email`; `live` picks unrevoked ones only. */
  tokensOf(email: string, live: boolean): string[] {
    const out: string[] = [];
    for (const t of this.tokens.values())
      if (t.email === email && (!live || !t.revoked)) out.push(t.jti);
    return out;
  }

  // ------------------------------------------------------------------ loads (the DB queries)

  load(spec: LoadSpec): unknown {
    switch (spec.kind) {
      case "ctx": {
        this.loads.ctx++;
        const u = this.user(spec.email);
        const revoked = this.tokens.get(spec.jti)?.revoked ?? true;
        return {
          user: { email: u.email, active: u.active, password_hash: "never cached" },
          personalTeamId: u.personalTeamId,
          isTokenRevoked: revoked,
        };
      }
      case "role":
        this.loads.role++;
        return this.roles.get(`${spec.email}|${spec.teamId}`) ?? null;
      case "user": {
        this.loads.user++;
        const u = this.user(spec.email);
        return { email: u.email, active: u.active, password_hash: "never cached" };
      }
    }
  }

  // ------------------------------------------------------------------ changes

  /** Revokes a live token of a random user and mints a replacement. */
  revokeSome(): Change | undefined {
    const u = this.pick(this.users);
    const live = this.tokensOf(u.email, true);
    if (live.length === 0) return undefined;
    const jti = this.pick(live);
    const row = this.tokens.get(jti);
    if (!row) return undefined;
    row.revoked = true;
    this.truth.write(`ctx:${u.email}:${jti}`, "revoked");
    this.truth.write(`revoked:${jti}`, true);
    this.mint(u.email);
    return {
      label: "revoke",
      entities: [`ctx:${u.email}:${jti}`, `revoked:${jti}`],
      method: "invalidateRevocation",
      args: [jti],
    };
  }

  changeSomeRole(): Change {
    const u = this.pick(this.users);
    const team = this.pick(this.teams);
    const key = `${u.email}|${team}`;
    const current = this.roles.get(key);
    const next = this.pick(ROLES.filter((r) => r !== current));
    this.roles.set(key, next);
    this.truth.write(`role:${u.email}:${team}`, next);
    return {
      label: "role",
      entities: [`role:${u.email}:${team}`],
      method: "invalidateUserRole",
      args: [u.email, team],
    };
  }

  toggleSomeUser(): Change {
    const u = this.pick(this.users);
    u.active = !u.active;
    const entities = [`user:${u.email}`];
    this.truth.write(`user:${u.email}`, this.userView(u));
    for (const jti of this.tokensOf(u.email, true)) {
      this.truth.write(`ctx:${u.email}:${jti}`, this.ctxView(u.email, jti));
      entities.push(`ctx:${u.email}:${jti}`);
    }
    return {
      label: u.active ? "activate" : "deactivate",
      entities,
      method: "invalidateUser",
      args: [u.email],
    };
  }

  /** One random change: revocations, role changes and (de)activations in equal parts. */
  randomChange(): Change | undefined {
    const r = this.random();
    if (r < 1 / 3) return this.revokeSome();
    if (r < 2 / 3) return this.changeSomeRole();
    return this.toggleSomeUser();
  }
}

/** The checker's view of an auth context returned by a cache. */
export function ctxObserved(ctx: unknown): string | undefined {
  if (ctx === undefined) return undefined;
  const c = ctx as {
    isTokenRevoked?: unknown;
    user?: { email?: unknown; active?: unknown } | null;
  };
  if (c.isTokenRevoked === true) return "revoked";
  if (!c.user) return "malformed";
  return `${String(c.user.email)}:${c.user.active === true ? "active" : "inactive"}`;
}

/** The checker's view of a user record returned by a cache (and whether it leaked the hash). */
export function userObserved(user: unknown): unknown {
  if (user === undefined) return undefined;
  const u = user as { email?: unknown; active?: unknown; password_hash?: unknown };
  if (u.password_hash !== undefined) return { leaked: "password_hash" };
  return { email: u.email, active: u.active };
}
