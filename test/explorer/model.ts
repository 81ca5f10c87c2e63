/**
 * The explorer's ground truth: a tiny database (users, team memberships with roles, revoked
 * tokens), the fixed universe of cache entries derived from it, and the one oracle.
 *
 * Every entry the cache can answer for has a timeline of versions (the value the database
 * implies for it). A version ends when a database write changes that value; it stops being
 * servable when the first invalidation that covers the entry, called after that write, has
 * RESOLVED (the app writes the database, then calls invalidate*: the promise counts from the
 * moment the cache says the invalidation is done, which is when the app can rely on it). The
 * oracle: a read that started at t may return v only if some version equal to v, written before
 * the read ended, was still servable at t − maxStaleMs, i.e. `stop + maxStaleMs >= t`. A value
 * no version ever had is a "foreign" read (another entry's data, or invented).
 *
 * Order between writes and invalidation calls is a sequence number, not the clock (many steps
 * share one fake millisecond); the bound is measured on the fake clock.
 */
import { canonical } from "../support/ground-truth.ts";

export const EMAILS = ["a@x.io", "b@x.io"] as const;
export const TEAMS = ["t1", "t2"] as const;
export const JTIS = ["j1", "j2", "j3"] as const;
export const MEMBER_SETS: readonly (readonly string[])[] = [["t1"], ["t2"], ["t1", "t2"]];

export type Entity =
  | { readonly k: "user"; readonly e: string }
  | { readonly k: "role"; readonly e: string; readonly t: string }
  | { readonly k: "teams"; readonly e: string; readonly p: boolean }
  | { readonly k: "mem"; readonly e: string; readonly ts: readonly string[] }
  | { readonly k: "ctx"; readonly e: string; readonly j: string | null }
  | { readonly k: "rev"; readonly j: string };

function buildEntities(): Entity[] {
  const out: Entity[] = [];
  // Interleaved so that small indexes (what shrinking tends to) cover every kind.
  for (const e of EMAILS) {
    out.push({ k: "role", e, t: "t1" });
    out.push({ k: "user", e });
    out.push({ k: "mem", e, ts: ["t1"] });
    out.push({ k: "ctx", e, j: "j1" });
    out.push({ k: "teams", e, p: false });
  }
  out.push({ k: "rev", j: "j1" });
  for (const e of EMAILS) {
    out.push({ k: "role", e, t: "t2" });
    out.push({ k: "teams", e, p: true });
    out.push({ k: "mem", e, ts: ["t2"] });
    out.push({ k: "mem", e, ts: ["t1", "t2"] });
    out.push({ k: "ctx", e, j: "j2" });
    out.push({ k: "ctx", e, j: "j3" });
    out.push({ k: "ctx", e, j: null });
  }
  out.push({ k: "rev", j: "j2" });
  out.push({ k: "rev", j: "j3" });
  return out;
}

/** Every entry the explorer reads, in a fixed order (actions name them by index). */
export const ENTITIES: readonly Entity[] = buildEntities();

export function entityKey(x: Entity): string {
  switch (x.k) {
    case "user":
      return `user|${x.e}`;
    case "role":
      return `role|${x.e}|${x.t}`;
    case "teams":
      return `teams|${x.e}|${x.p}`;
    case "mem":
      return `mem|${x.e}|${[...x.ts].sort().join(",")}`;
    case "ctx":
      return `ctx|${x.e}|${x.j ?? "-"}`;
    case "rev":
      return `rev|${x.j}`;
  }
}

/** A stable string for a JSON-like value: the chaos runs' ground-truth checker's own. */
export { canonical };

export interface UserRow {
  readonly email: string;
  readonly name: string;
}

export interface Ctx {
  readonly user: UserRow;
  readonly personalTeamId: string;
  readonly isTokenRevoked: boolean;
}

/** Which entries an invalidation call covers (what the AuthCache docs promise it drops). */
export type Cover =
  | { readonly op: "user"; readonly e: string }
  | { readonly op: "team"; readonly e: string }
  | { readonly op: "userRole"; readonly e: string; readonly t: string }
  | { readonly op: "teamRoles"; readonly t: string }
  | { readonly op: "userTeams"; readonly e: string }
  | { readonly op: "membership"; readonly e: string }
  | { readonly op: "revoke"; readonly js: readonly string[] }
  | { readonly op: "all" };

export function covers(c: Cover, x: Entity): boolean {
  switch (c.op) {
    case "all":
      return true;
    case "user":
      return x.k !== "rev" && x.e === c.e;
    case "team":
      return (x.k === "role" || x.k === "teams" || x.k === "mem" || x.k === "ctx") && x.e === c.e;
    case "userRole":
      return x.k === "role" && x.e === c.e && x.t === c.t;
    case "teamRoles":
      return x.k === "role" && x.t === c.t;
    case "userTeams":
      return x.k === "teams" && x.e === c.e;
    case "membership":
      return x.k === "mem" && x.e === c.e;
    case "revoke":
      return (x.k === "rev" || (x.k === "ctx" && x.j !== null)) && c.js.includes(x.j as string);
  }
}

interface Version {
  readonly value: string;
  readonly writtenSeq: number;
  replacedSeq: number | undefined;
  /** Fake time the first covering invalidation (called after the replacing write) resolved. */
  stop: number;
}

export interface Violation {
  readonly kind: "stale" | "foreign" | "threw" | "hung";
  readonly message: string;
}

export interface ReadRecord {
  readonly entity: Entity;
  readonly instance: number;
  readonly api: string;
  readonly startedAt: number;
  readonly startSeq: number;
}

/** The database, the timelines, and the oracle. */
export class GroundTruth {
  seq = 0;
  private readonly users = new Map<string, number>();
  /** `${email}|${team}` → role; absent = not a member. */
  private readonly members = new Map<string, string>();
  private readonly revoked = new Set<string>();
  private readonly timelines = new Map<string, Version[]>();
  readonly violations: Violation[] = [];
  /** Reads whose value was checked (a miss or "unknown" is never stale). */
  checked = 0;
  reads = 0;

  constructor(
    private readonly now: () => number,
    private readonly maxStaleMs: number,
  ) {
    for (const e of EMAILS) this.users.set(e, 0);
    this.members.set(`${EMAILS[0]}|t1`, "member");
    this.members.set(`${EMAILS[1]}|t1`, "member");
    this.members.set(`${EMAILS[1]}|t2`, "admin");
    for (const x of ENTITIES) {
      this.timelines.set(entityKey(x), [
        { value: canonical(this.value(x)), writtenSeq: 0, replacedSeq: undefined, stop: Infinity },
      ]);
    }
  }

  // ---------------------------------------------------------------- the database

  user(e: string): UserRow {
    return { email: e, name: `${e}#${this.users.get(e) ?? 0}` };
  }

  role(e: string, t: string): string | null {
    return this.members.get(`${e}|${t}`) ?? null;
  }

  teams(e: string, p: boolean): string[] {
    const ts = TEAMS.filter((t) => this.members.has(`${e}|${t}`));
    return p ? [`personal-${e}`, ...ts] : [...ts];
  }

  memberOfAll(e: string, ts: readonly string[]): boolean {
    return ts.every((t) => this.members.has(`${e}|${t}`));
  }

  isRevoked(j: string): boolean {
    return this.revoked.has(j);
  }

  revokedList(): string[] {
    return [...this.revoked];
  }

  ctx(e: string, j: string | null): Ctx {
    return {
      user: this.user(e),
      personalTeamId: `personal-${e}`,
      isTokenRevoked: j === null ? false : this.revoked.has(j),
    };
  }

  /** What the database implies for `x` now. */
  value(x: Entity): unknown {
    switch (x.k) {
      case "user":
        return this.user(x.e);
      case "role":
        return this.role(x.e, x.t);
      case "teams":
        return this.teams(x.e, x.p);
      case "mem":
        return this.memberOfAll(x.e, x.ts);
      case "ctx":
        return this.ctx(x.e, x.j);
      case "rev":
        return this.revoked.has(x.j);
    }
  }

  /** A database write; the entries whose value changed start a new version. */
  write(change: (db: GroundTruth) => void): void {
    change(this);
    this.seq++;
    for (const x of ENTITIES) {
      const list = this.timelines.get(entityKey(x)) as Version[];
      const last = list[list.length - 1] as Version;
      const v = canonical(this.value(x));
      if (v === last.value) continue;
      last.replacedSeq = this.seq;
      list.push({ value: v, writtenSeq: this.seq, replacedSeq: undefined, stop: Infinity });
    }
  }

  bumpUser(e: string): void {
    this.write(() => this.users.set(e, (this.users.get(e) ?? 0) + 1));
  }

  toggleMember(e: string, t: string): void {
    this.write(() => {
      const k = `${e}|${t}`;
      if (this.members.has(k)) this.members.delete(k);
      else this.members.set(k, "member");
    });
  }

  flipRole(e: string, t: string): void {
    this.write(() => {
      const k = `${e}|${t}`;
      const r = this.members.get(k);
      if (r !== undefined) this.members.set(k, r === "admin" ? "member" : "admin");
    });
  }

  revoke(j: string): void {
    this.write(() => this.revoked.add(j));
  }

  // ---------------------------------------------------------------- invalidations

  /** An invalidation call starts; returns what to call when it resolves. */
  invalidating(cover: Cover): () => void {
    const startSeq = ++this.seq;
    return () => {
      const at = this.now();
      for (const x of ENTITIES) {
        if (!covers(cover, x)) continue;
        for (const v of this.timelines.get(entityKey(x)) as Version[]) {
          if (v.replacedSeq !== undefined && v.replacedSeq < startSeq && at < v.stop) v.stop = at;
        }
      }
    };
  }

  // ---------------------------------------------------------------- reads and the oracle

  startRead(entity: Entity, instance: number, api: string): ReadRecord {
    this.reads++;
    return { entity, instance, api, startedAt: this.now(), startSeq: ++this.seq };
  }

  /** Checks a finished read against the timelines (undefined = a miss: never stale). */
  endRead(r: ReadRecord, value: unknown): void {
    const endSeq = ++this.seq;
    if (value === undefined) return;
    this.checked++;
    let key = entityKey(r.entity);
    let v = canonical(value);
    // A revoked token's context is answered as { user: null, ..., isTokenRevoked: true }: it is
    // a read of the token's revocation, not of the user.
    if (r.entity.k === "ctx" && isRevokedAnswer(value)) {
      if (r.entity.j === null) {
        this.fail("foreign", r, value, "a context without a jti answered as revoked");
        return;
      }
      key = `rev|${r.entity.j}`;
      v = "true";
    }
    const versions = (this.timelines.get(key) as Version[]).filter(
      (x) => x.value === v && x.writtenSeq < endSeq,
    );
    if (versions.length === 0) {
      this.fail("foreign", r, value, "no version of this entry ever had that value");
      return;
    }
    const stop = Math.max(...versions.map((x) => x.stop));
    if (r.startedAt > stop + this.maxStaleMs) {
      this.fail(
        "stale",
        r,
        value,
        `that value stopped being servable at ${stop - T0} (invalidation resolved), ` +
          `the read began at ${r.startedAt - T0}: ${r.startedAt - stop} ms later ` +
          `(maxStaleMs ${this.maxStaleMs})`,
      );
    }
  }

  fail(kind: Violation["kind"], r: ReadRecord | undefined, value: unknown, why: string): void {
    const where =
      r === undefined
        ? ""
        : `instance ${r.instance} ${r.api}(${entityKey(r.entity)}) at t=${r.startedAt - T0} returned ${canonical(value)}: `;
    this.violations.push({ kind, message: `${kind}: ${where}${why}` });
  }
}

/** The fake clock's origin (times in reports are relative to it). */
export const T0 = 1_800_000_000_000;

function isRevokedAnswer(v: unknown): boolean {
  return (
    typeof v === "object" &&
    v !== null &&
    (v as { isTokenRevoked?: unknown }).isTokenRevoked === true &&
    (v as { user?: unknown }).user === null
  );
}
