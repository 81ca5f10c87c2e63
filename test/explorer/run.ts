/**
 * Runs one action sequence on a fleet of 2–3 caches sharing one store and one log, with every
 * read checked by the ground truth's oracle, then quiesces (heals every fault, lets every load
 * and call finish, retries failed invalidations as an app would) and reads every entry on every
 * instance once more, after maxStaleMs.
 *
 * Concurrency: an action starts an operation and does not wait for it. Each operation runs
 * until it blocks on something the explorer controls (a slow loader, a held store call, a
 * stalled or cut log, the clock); the next action then runs. So the interleavings explored are
 * the orders of those events, chosen by the sequence.
 */
import {
  type AuthCache,
  type AuthCacheOptions,
  createAuthCache,
  type InvalidationBus,
  InvalidationError,
  type Store,
  silentLogger,
} from "@authcache/core";
import { type Action, changeOf, type LogFault } from "./actions.ts";
import { FaultyBus, FaultyStore, type NativeLog } from "./faults.ts";
import { type Cover, ENTITIES, type Entity, GroundTruth, type ReadRecord } from "./model.ts";

/** Where a fleet lives: the shared store and log, the clock, and how time passes. */
export interface Backend {
  readonly name: string;
  readonly maxStaleMs: number;
  now(): number;
  /** Moves the clock by `ms` (a fake clock jumps; a real one is waited for). */
  advance(ms: number): Promise<void>;
  /** Lets every operation run until it blocks on the explorer. */
  settle(): Promise<void>;
  /** New connections to the shared store and log, as another process would open. */
  connect(): { store: Store; bus: InvalidationBus; native: NativeLog | undefined };
  /** A fault on the shared log itself, when the backend can make it natively: keep only the
   *  newest `keep` entries, delete one unread entry, or recreate the log (a new epoch). */
  log?(fault: LogFault, keep: number): void;
  /** Returns once every hearing follower has confirmed it is caught up as of now. */
  confirm(buses: readonly FaultyBus[]): Promise<void>;
  readonly cacheOptions: Partial<AuthCacheOptions>;
  /** How long (real ms) quiescing waits for operations to settle beyond 50 rounds. */
  readonly drainMs?: number;
  close(): Promise<void>;
}

interface Slot {
  readonly cache: AuthCache;
  readonly store: FaultyStore;
  readonly bus: FaultyBus;
  closed: boolean;
}

interface Load {
  done: boolean;
  finish(): void;
}

const DAY = 86_400_000;
/** How long after its get miss the app still sets what it loaded (below the cache's 30 s). */
const SET_WINDOW_MS = 25_000;

export class Run {
  readonly gt: GroundTruth;
  private readonly slots: Slot[] = [];
  private readonly retired: Slot[] = [];
  private readonly loads: Load[] = [];
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly failed: { cover: Cover; call: (c: AuthCache) => Promise<unknown> }[] = [];
  /** Figures for the report. */
  readonly stats = {
    actions: 0,
    faults: 0,
    invalidations: 0,
    loads: 0,
    l1Hits: 0,
    orderedPublishes: 0,
  };

  constructor(
    private readonly b: Backend,
    instances: number,
  ) {
    this.gt = new GroundTruth(() => b.now(), b.maxStaleMs);
    for (let i = 0; i < instances; i++) this.slots.push(this.open());
  }

  private open(): Slot {
    const v = this.b.connect();
    const store = new FaultyStore(v.store);
    const bus = new FaultyBus(v.bus, v.native);
    const cache = createAuthCache({
      store: store.store,
      bus: bus.bus,
      logger: silentLogger,
      now: () => this.b.now(),
      maxStaleMs: this.b.maxStaleMs,
      ...this.b.cacheOptions,
    });
    return { cache, store, bus, closed: false };
  }

  private slot(i: number): Slot {
    return this.slots[i % this.slots.length] as Slot;
  }

  private track(p: Promise<unknown>): void {
    const q = p.then(
      () => undefined,
      () => undefined,
    );
    this.inflight.add(q);
    void q.then(() => this.inflight.delete(q));
  }

  // ---------------------------------------------------------------- reads

  private read(i: number, x: Entity, sync: boolean): undefined {
    const c = this.slot(i).cache;
    const n = i % this.slots.length;
    switch (x.k) {
      case "user":
        return this.check(n, x, "getUser", () => c.getUser(x.e));
      case "role":
        return this.check(n, x, "getUserRole", () => c.getUserRole(x.e, x.t));
      case "teams":
        return this.check(n, x, "getUserTeams", () => c.getUserTeams(x.e, x.p));
      case "mem":
        // Team order never matters: the Sync read asks in reverse.
        if (sync) {
          return this.check(n, x, "getTeamMembershipValidSync", () =>
            c.getTeamMembershipValidSync(x.e, [...x.ts].reverse()),
          );
        }
        return this.check(n, x, "getTeamMembershipValid", () =>
          c.getTeamMembershipValid(x.e, x.ts),
        );
      case "ctx":
        if (sync) {
          return this.check(n, x, "getAuthContextSync", () => c.getAuthContextSync(x.e, x.j));
        }
        return this.check(n, x, "getAuthContext", () => c.getAuthContext(x.e, x.j));
      case "rev":
        return this.check(n, x, "isTokenRevoked", () => c.isTokenRevoked(x.j));
    }
  }

  /** Runs one read, checks its answer when it settles; returns its promise through `out`. */
  private check(
    n: number,
    x: Entity,
    api: string,
    call: () => unknown,
    out?: (p: Promise<unknown>) => void,
  ): undefined {
    const r = this.gt.startRead(x, n, api);
    let p: Promise<unknown>;
    try {
      const v = call();
      p = v instanceof Promise ? v : Promise.resolve(v);
    } catch (err) {
      p = Promise.reject(err);
    }
    const checked = p.then(
      (v) => {
        this.gt.endRead(r, v);
        return v;
      },
      (err: unknown) => {
        this.threw(r, err);
        throw err;
      },
    );
    this.track(checked);
    out?.(checked);
    return undefined;
  }

  private threw(r: ReadRecord | undefined, err: unknown): void {
    this.gt.fail("threw", r, undefined, `rejected: ${String(err)}`);
  }

  /** A database query that takes as long as the explorer says. */
  private loader(x: Entity, slow: boolean, late: boolean): () => Promise<unknown> {
    return () => {
      this.stats.loads++;
      const early = this.gt.value(x);
      if (!slow) return Promise.resolve(early);
      return new Promise((resolve) => {
        const load: Load = {
          done: false,
          finish: () => {
            load.done = true;
            resolve(late ? this.gt.value(x) : early);
          },
        };
        this.loads.push(load);
      });
    };
  }

  private resolve(i: number, x: Entity, slow: boolean, late: boolean): undefined {
    const c = this.slot(i).cache;
    const n = i % this.slots.length;
    const load = this.loader(x, slow, late);
    switch (x.k) {
      case "user":
        return this.check(n, x, "resolveUser", () =>
          c.resolveUser(x.e, load as () => Promise<{ email: string }>),
        );
      case "role":
        return this.check(n, x, "resolveUserRole", () =>
          c.resolveUserRole(x.e, x.t, load as () => Promise<string | null>),
        );
      case "teams":
        return this.check(n, x, "resolveUserTeams", () =>
          c.resolveUserTeams(x.e, x.p, load as () => Promise<string[]>),
        );
      case "mem":
        return this.check(n, x, "resolveTeamMembershipValid", () =>
          c.resolveTeamMembershipValid(x.e, x.ts, load as () => Promise<boolean>),
        );
      case "ctx":
        return this.check(n, x, "resolveAuthContext", () =>
          c.resolveAuthContext(x.e, x.j, load as () => Promise<never>),
        );
      case "rev":
        return this.read(i, x, false);
    }
  }

  /** The app's get → (miss) load → set, as a gateway writes it. */
  private app(i: number, x: Entity, sync: boolean, slow: boolean, late: boolean): undefined {
    const c = this.slot(i).cache;
    const n = i % this.slots.length;
    const load = this.loader(x, slow, late);
    const then = (get: Promise<unknown>, set: (v: unknown) => unknown) => {
      const began = this.b.now();
      this.track(
        get.then(async (v) => {
          if (v !== undefined) return;
          const loaded = await load();
          // The cache keeps a miss for 30 s (its documented get-then-set window); a request
          // that took longer has timed out and sets nothing.
          if (this.b.now() - began > SET_WINDOW_MS) return;
          await set(loaded);
        }),
      );
    };
    const setFailed = (err: unknown) => this.threw(undefined, err);
    const guarded = (f: () => unknown) => async () => {
      try {
        await f();
      } catch (err) {
        setFailed(err);
      }
    };
    switch (x.k) {
      case "user":
        return this.check(
          n,
          x,
          "getUser",
          () => c.getUser(x.e),
          (g) => then(g, (v) => guarded(() => c.setUser(x.e, v as { email: string }))()),
        );
      case "role":
        return this.check(
          n,
          x,
          "getUserRole",
          () => c.getUserRole(x.e, x.t),
          (g) => then(g, (v) => guarded(() => c.setUserRole(x.e, x.t, v as string | null))()),
        );
      case "teams":
        return this.check(
          n,
          x,
          "getUserTeams",
          () => c.getUserTeams(x.e, x.p),
          (g) => then(g, (v) => guarded(() => c.setUserTeams(x.e, x.p, v as string[]))()),
        );
      case "mem":
        if (sync) {
          return this.check(
            n,
            x,
            "getTeamMembershipValidSync",
            () => c.getTeamMembershipValidSync(x.e, x.ts),
            (g) =>
              then(g, (v) =>
                guarded(() => c.setTeamMembershipValidSync(x.e, x.ts, v as boolean))(),
              ),
          );
        }
        return this.check(
          n,
          x,
          "getTeamMembershipValid",
          () => c.getTeamMembershipValid(x.e, x.ts),
          (g) => then(g, (v) => guarded(() => c.setTeamMembershipValid(x.e, x.ts, v as boolean))()),
        );
      case "ctx": {
        const set = (v: unknown) => {
          // A gateway refuses a revoked token; it does not cache its context.
          if ((v as { isTokenRevoked: boolean }).isTokenRevoked) return;
          return guarded(() => c.setAuthContext(x.e, x.j, v as never))();
        };
        if (sync) {
          // The documented hot path: the Sync read, and on its miss the async get (which
          // counts the miss and opens the ticket the set needs), then load and set.
          return this.check(
            n,
            x,
            "getAuthContextSync",
            () => c.getAuthContextSync(x.e, x.j),
            (g) =>
              this.track(
                g.then((v) => {
                  if (v !== undefined) return;
                  this.check(
                    n,
                    x,
                    "getAuthContext",
                    () => c.getAuthContext(x.e, x.j),
                    (g2) => then(g2, set),
                  );
                }),
              ),
          );
        }
        return this.check(
          n,
          x,
          "getAuthContext",
          () => c.getAuthContext(x.e, x.j),
          (g) => then(g, set),
        );
      }
      case "rev":
        return this.check(
          n,
          x,
          "isTokenRevoked",
          () => c.isTokenRevoked(x.j),
          (g) =>
            then(g, (revoked) => (revoked ? undefined : guarded(() => c.setNotRevoked(x.j))())),
        );
    }
  }

  // ---------------------------------------------------------------- invalidations

  private invalidate(i: number, cover: Cover, call: (c: AuthCache) => Promise<unknown>): undefined {
    this.stats.invalidations++;
    const done = this.gt.invalidating(cover);
    let p: Promise<unknown>;
    try {
      p = call(this.slot(i).cache);
    } catch (err) {
      p = Promise.reject(err);
    }
    this.track(
      p.then(done, (err: unknown) => {
        // The cache said it failed: the app retries later (see quiesce).
        if (!(err instanceof InvalidationError)) this.threw(undefined, err);
        this.failed.push({ cover, call });
      }),
    );
    return undefined;
  }

  private change(a: Extract<Action, { op: "change" }>): undefined {
    const { m, e, t, j } = changeOf(a);
    const gt = this.gt;
    switch (m) {
      case "user":
        gt.bumpUser(e);
        return this.invalidate(a.i, { op: "user", e }, (c) => c.invalidateUser(e));
      case "role":
        gt.flipRole(e, t);
        if (a.v % 3 === 0) {
          return this.invalidate(a.i, { op: "userRole", e, t }, (c) => c.invalidateUserRole(e, t));
        }
        if (a.v % 3 === 1) {
          return this.invalidate(a.i, { op: "teamRoles", t }, (c) => c.invalidateTeamRoles(t));
        }
        return this.invalidate(a.i, { op: "team", e }, (c) => c.invalidateTeam(e));
      case "member":
        gt.toggleMember(e, t);
        if (a.v % 3 === 0)
          return this.invalidate(a.i, { op: "team", e }, (c) => c.invalidateTeam(e));
        if (a.v % 3 === 1) {
          this.invalidate(a.i, { op: "userRole", e, t }, (c) => c.invalidateUserRole(e, t));
          this.invalidate(a.i, { op: "userTeams", e }, (c) => c.invalidateUserTeams(e));
          return this.invalidate(a.i, { op: "membership", e }, (c) =>
            c.invalidateTeamMembership(e),
          );
        }
        return this.invalidate(a.i, { op: "user", e }, (c) => c.invalidateUser(e));
      case "revoke": {
        gt.revoke(j);
        if (a.v % 3 === 0) {
          return this.invalidate(a.i, { op: "revoke", js: [j] }, (c) => c.invalidateRevocation(j));
        }
        if (a.v % 3 === 1) {
          return this.invalidate(a.i, { op: "revoke", js: [j] }, (c) => c.syncRevokedTokens([j]));
        }
        // The gateway's periodic sync: every revoked row, with its token's expiry.
        const js = gt.revokedList();
        const rows = js.map((jti) => ({ jti, expiresAt: this.b.now() + DAY }));
        return this.invalidate(a.i, { op: "revoke", js }, (c) =>
          c.syncRevokedTokens(async () => rows),
        );
      }
      case "all":
        gt.bumpUser(e);
        return this.invalidate(a.i, { op: "all" }, (c) => c.invalidateAll());
    }
  }

  // ---------------------------------------------------------------- the step

  async step(a: Action): Promise<void> {
    this.stats.actions++;
    switch (a.op) {
      case "read":
        this.read(a.i, ENTITIES[a.x] as Entity, a.sync);
        break;
      case "resolve":
        this.resolve(a.i, ENTITIES[a.x] as Entity, a.slow, a.late);
        break;
      case "app":
        for (let k = 0; k < a.n; k++) {
          this.app(a.i, ENTITIES[a.x] as Entity, a.sync, a.slow, a.late);
        }
        break;
      case "finish": {
        const open = this.loads.filter((l) => !l.done);
        if (a.all) for (const l of open) l.finish();
        else open[a.k % Math.max(1, open.length)]?.finish();
        break;
      }
      case "change":
        this.change(a);
        break;
      case "advance":
        // Action times are in units of a 1 000 ms bound; a backend with a shorter one scales.
        await this.b.advance((a.ms * this.b.maxStaleMs) / 1_000);
        if (a.confirm) await this.confirm();
        break;
      case "tick":
        await this.confirm();
        break;
      case "bus": {
        this.stats.faults++;
        const bus = this.slot(a.i).bus;
        if (a.f === "deaf") bus.setDeaf(true);
        else if (a.f === "hear") bus.setDeaf(false);
        else if (a.f === "cut") bus.setCut(true);
        else if (a.f === "reconnect") bus.setCut(false);
        else if (a.f === "slow") bus.slowAppends = true;
        else if (a.f === "append") bus.releaseAppends();
        else bus.duplicate(2);
        break;
      }
      case "log":
        this.stats.faults++;
        this.b.log?.(a.f, a.keep);
        for (const s of this.slots) {
          if (a.f === "trim") s.bus.trimPast(a.keep);
          else s.bus.lose(a.f === "recreate");
        }
        break;
      case "store": {
        this.stats.faults++;
        const s = this.slot(a.i).store;
        if (a.f === "step") s.step();
        else if (a.f === "lose") s.lose();
        else s.setMode(a.f);
        break;
      }
      case "close": {
        const s = this.slot(a.i);
        if (!s.closed) {
          s.closed = true;
          await s.cache.close();
        }
        break;
      }
      case "reopen": {
        const n = a.i % this.slots.length;
        const s = this.slots[n] as Slot;
        if (s.closed) {
          this.retired.push(s);
          this.slots[n] = this.open();
        }
        break;
      }
      case "warm":
        this.warm(a.i);
        break;
      case "sweep":
        this.sweep();
        break;
      case "flood": {
        const c = this.slot(a.i).cache;
        for (let k = 0; k < a.n; k++) this.track(c.getUser(`flood-${k}@y.io`));
        break;
      }
    }
    await this.b.settle();
  }

  /** Every entry read on every instance (and the Sync reads where they exist). */
  private sweep(): void {
    for (let i = 0; i < this.slots.length; i++) {
      for (const x of ENTITIES) {
        this.read(i, x, false);
        if (x.k === "mem" || x.k === "ctx") this.read(i, x, true);
      }
    }
  }

  /** Every entry read on instance i with instant loads (a context or a "not revoked" answer
   *  through the get-then-set pattern, the rest through resolve*). */
  private warm(i: number): void {
    for (const x of ENTITIES) {
      if (x.k === "rev") this.app(i, x, false, false, false);
      else this.resolve(i, x, false, false);
    }
  }

  /** Lets every instance confirm, and warms them all when `warm` (a cold fleet misses first,
   *  the get-then-set races start there; a warm one holds every entry to be invalidated). */
  async start(warm: boolean): Promise<void> {
    await this.confirm();
    if (warm) for (let i = 0; i < this.slots.length; i++) this.warm(i);
    await this.b.settle();
  }

  private async confirm(): Promise<void> {
    await this.b.confirm(this.slots.filter((s) => !s.closed).map((s) => s.bus));
  }

  /** Heals every fault, finishes every load and call, retries failed invalidations, then
   *  reads every entry on every instance after maxStaleMs. */
  async quiesce(): Promise<void> {
    const heal = async () => {
      for (const s of [...this.slots, ...this.retired]) {
        s.store.setMode("ok");
        s.bus.releaseAppends();
        s.bus.setCut(false);
        s.bus.setDeaf(false);
      }
      await this.b.settle();
    };
    await heal();
    await this.b.advance(this.b.maxStaleMs + 1);
    await this.confirm();
    // New resolves now may join loads that began before an invalidation (singleflight).
    const own = this.loads.length;
    for (let i = 0; i < this.slots.length; i++) {
      for (const x of ENTITIES) if (x.k !== "rev") this.resolve(i, x, true, false);
    }
    await this.b.settle();
    // The run's own loads finish first and everything is read, before the loads just started
    // fill fresh values (which would hide what a late stale set left behind).
    for (const l of this.loads.slice(0, own)) if (!l.done) l.finish();
    await heal();
    this.sweep();
    await this.b.settle();
    for (let round = 0; round < 50; round++) {
      const open = this.loads.filter((l) => !l.done);
      for (const l of open) l.finish();
      await heal();
      if (open.length === 0 && this.inflight.size === 0) break;
    }
    await this.drain();
    for (let round = 0; round < 5 && this.failed.length > 0; round++) {
      for (const f of this.failed.splice(0)) this.invalidate(0, f.cover, f.call);
      await this.drain();
    }
    if (this.failed.length > 0) {
      this.gt.fail("hung", undefined, undefined, "an invalidation kept failing after healing");
    }
    await this.b.advance(this.b.maxStaleMs + 1);
    await this.confirm();
    this.sweep();
    await this.drain();
    if (this.inflight.size > 0) {
      this.gt.fail("hung", undefined, undefined, `${this.inflight.size} operations never settled`);
    }
  }

  private async drain(): Promise<void> {
    const until = Date.now() + (this.b.drainMs ?? 0);
    for (let round = 0; this.inflight.size > 0 && (round < 50 || Date.now() < until); round++) {
      for (const l of this.loads) if (!l.done) l.finish();
      await this.b.settle();
    }
  }

  async close(): Promise<void> {
    for (const s of [...this.slots, ...this.retired]) {
      this.stats.l1Hits += s.cache.stats().l1Hits;
      this.stats.orderedPublishes += s.bus.orderedPublishes;
      s.store.setMode("fail");
      await s.cache.close();
    }
  }
}
