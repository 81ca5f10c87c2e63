/**
 * The bounded-staleness scenario: a fleet of caches on one Redis (through a chaos proxy),
 * readers on every instance, writers that change the database and invalidate through a random
 * instance, and a fault schedule. Every read and every invalidation goes into the ground
 * truth; the caller checks the report.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import type { InvalidationBus } from "@authcache/core";
import {
  startServer,
  startTcpProxy,
  type TcpProxy,
  type TestCluster,
  type TestServer,
} from "@authcache/test-servers";
import { AuthDb, ctxObserved, type LoadSpec, prng, userObserved } from "./auth-model.ts";
import { createRedisCache, type RedisCacheConfig } from "./cache-factory.ts";
import { type Instance, localInstance, sleep, workerInstance } from "./fleet.ts";
import { checkStaleness, GroundTruth, type StalenessReport } from "./ground-truth.ts";
import { spawnWorker } from "./worker-client.ts";

export interface Fault {
  readonly label: string;
  run(): Promise<void> | void;
  readonly holdMs: number;
  undo?(): Promise<void> | void;
}

export interface ScenarioOptions {
  /** A standalone server and the chaos proxy in front of it; or `cluster`; or `libsqlUrl`. */
  readonly server?: TestServer;
  readonly proxy?: TcpProxy;
  /** A cluster (with replicas): the caches open cluster clients on its nodes. The chaos proxy
   *  cannot front a cluster, so its faults are node kills, failovers and reshards. */
  readonly cluster?: TestCluster;
  /** A libSQL `file:` URL every instance opens (adapter "libsql"). */
  readonly libsqlUrl?: string;
  readonly seed: number;
  readonly maxStaleMs: number;
  /** Key prefix and stream name base, so scenarios on one server never meet. */
  readonly namespace: string;
  /** Which adapter the caches use (default "redis"). */
  readonly adapter?: "redis" | "valkey" | "libsql";
  /** Overrides of the cache configuration every instance gets. */
  readonly config?: Partial<RedisCacheConfig>;
  /** Instances in this process, then instances in worker processes. */
  readonly local: number;
  readonly workers: number;
  /** The fault schedule, run in order (an iterable, so a soak run can go on until its time is
   *  up: see `soak`). */
  readonly faults: (ctl: FaultControl) => Iterable<Fault>;
  /** Wraps the bus of local instance `index` (a broken bus, to prove the checker bites). */
  readonly wrapBus?: (index: number, bus: InvalidationBus) => InvalidationBus;
  /** Instances are registered here as they start, so the caller can close them on failure. */
  readonly fleet: Instance[];
}

export interface FaultControl {
  /** The chaos proxy (throws when the scenario has none). */
  readonly proxy: TcpProxy;
  /** Kills the server (counted); `undo` should call `server.restart()`. */
  kill(): Promise<void>;
  /** The standalone server (throws when the scenario has none). */
  readonly server: TestServer;
  /** The cluster (throws when the scenario has none). */
  readonly cluster: TestCluster;
  /** Kills a worker instance's process (SIGKILL) while writes it started are in flight, and
   *  starts another in its place. */
  killWorkerMidWrite(): Promise<void>;
  /** Counts one injected fault that the proxy does not count (node kills, failovers, ...). */
  count(kind: string): void;
  /** Marks where a fault begins and ends, for the recovery figures. */
  mark(label: string, edge: "start" | "end"): void;
}

/** What one fault cost, measured from when it began (sampled every SAMPLE_MS). */
export interface RecoveryFigure {
  readonly label: string;
  /** From the fault's start to the last sample with a failed L2 call (reads served from the
   *  database or L1 meanwhile), or a failed read, within the fault's window. */
  readonly degradedMs: number;
  /** Loader calls (database requests) from the fault's start to its window's end, and what
   *  the calm before it would have made in that time. */
  readonly dbRequests: number;
  readonly dbRequestsBaseline: number;
  /** From the fault's start until every instance trusted its L1 again (0: never distrusted). */
  readonly l1UntrustedMs: number;
  /** The window measured (until the next fault starts or the run ends). */
  readonly windowMs: number;
}

export interface ScenarioResult {
  readonly report: StalenessReport;
  readonly counts: Record<string, number>;
  readonly faultsInjected: number;
  /** Faults the proxy does not count, by kind (`FaultControl.count`). */
  readonly otherFaults: Readonly<Record<string, number>>;
  readonly readErrors: string[];
  /** Per marked fault: how long reads were degraded, database requests, L1 distrust. */
  readonly recovery: RecoveryFigure[];
  /** Sum over instances of one `stats()` field. */
  sum(field: string): number;
  readonly summary: string;
}

const READERS_PER_INSTANCE = 3;
const WRITERS = 2;

const SAMPLE_MS = 25;
const NO_PROXY = {
  cutConnections: 0,
  droppedBytes: 0,
  faults: { delay: 0, blackhole: 0, cut: 0, refuse: 0 },
};

export async function runStalenessScenario(o: ScenarioOptions): Promise<ScenarioResult> {
  const { proxy, server, cluster, maxStaleMs, fleet } = o;
  const random = prng(o.seed);
  // The proxy may have served an earlier scenario: count only what this one injects.
  const proxyStats = () => proxy?.stats ?? NO_PROXY;
  const base = { ...proxyStats(), faults: { ...proxyStats().faults } };
  const truth = new GroundTruth();
  const db = new AuthDb(truth, random, { users: 8, teams: 3, tokensPerUser: 2 });
  const load = (spec: unknown) => db.load(spec as LoadSpec);
  const url = o.libsqlUrl ?? proxy?.url ?? server?.url;
  if (url === undefined && cluster === undefined)
    throw new Error("staleness scenario: give server + proxy, cluster or libsqlUrl");
  const config: RedisCacheConfig = {
    adapter: o.adapter ?? "redis",
    url: url ?? "",
    ...(cluster ? { nodes: cluster.allNodes } : {}),
    prefix: `${o.namespace}:`,
    stream: `${o.namespace}:log`,
    maxStaleMs,
    confirmIntervalMs: 200,
    replyTimeoutMs: 400,
    timeoutMs: 150,
    breaker: { failures: 5, resetMs: 300 },
    ...o.config,
  };
  for (let i = 0; i < o.local; i++) {
    const wrap = o.wrapBus;
    const handle = await createRedisCache(
      config,
      wrap === undefined ? undefined : (bus) => wrap(i, bus),
    );
    fleet.push(localInstance(String.fromCharCode(65 + i), handle, load));
  }
  for (let i = 0; i < o.workers; i++) {
    fleet.push(
      workerInstance(String.fromCharCode(65 + o.local + i), await spawnWorker(config, load)),
    );
  }
  // Let every follower anchor on the log before the first change.
  await sleep(300);

  let running = true;
  const counts = {
    reads: 0,
    readErrors: 0,
    invalidations: 0,
    invalidationRetries: 0,
    notRevokedFills: 0,
    roleFills: 0,
    kills: 0,
    callsKilled: 0,
  };
  const otherFaults: Record<string, number> = {};
  const errors: string[] = [];

  const record = (
    inst: Instance,
    entity: string,
    res: {
      ok: boolean;
      startedAt: number;
      endedAt: number;
      error?: { name?: string; message: string };
    },
    observed: unknown,
  ): void => {
    if (!res.ok && res.error?.name === "WorkerExited") {
      // The instance's process was killed on purpose: its calls in flight die with it.
      counts.callsKilled++;
      return;
    }
    counts.reads++;
    if (!res.ok) {
      counts.readErrors++;
      if (errors.length < 5) errors.push(`${inst.name} ${entity}: ${res.error?.message}`);
      return;
    }
    truth.read(entity, observed, res.startedAt, res.endedAt, inst.name);
  };

  const readContext = async (inst: Instance, email: string, jti: string, plain: boolean) => {
    const res = plain
      ? await inst.call("getAuthContext", [email, jti])
      : await inst.call("resolveAuthContext", [email, jti], { kind: "ctx", email, jti });
    record(inst, `ctx:${email}:${jti}`, res, ctxObserved(res.value));
  };

  // Roles go through resolveUserRole, or through the reference design's get-then-set pattern
  // (the team service reads, loads on a miss, then fills): either fill must lose against an
  // invalidation in between.
  const readRole = async (inst: Instance, email: string, team: string): Promise<void> => {
    if (random() < 0.5) {
      const loader = { kind: "role", email, teamId: team };
      const resolved = await inst.call("resolveUserRole", [email, team], loader);
      record(inst, `role:${email}:${team}`, resolved, resolved.value);
      return;
    }
    const res = await inst.call("getUserRole", [email, team]);
    record(inst, `role:${email}:${team}`, res, res.value);
    if (res.ok && res.value === undefined) {
      counts.roleFills++;
      const role = db.load({ kind: "role", email, teamId: team });
      await inst.call("setUserRole", [email, team, role]);
    }
  };

  const readOnce = async (inst: Instance): Promise<void> => {
    const u = db.pick(db.users);
    const r = random();
    if (r < 0.55) {
      const live = db.tokensOf(u.email, true);
      const jti =
        random() < 0.75 && live.length > 0 ? db.pick(live) : db.pick(db.tokensOf(u.email, false));
      await readContext(inst, u.email, jti, r >= 0.4);
    } else if (r < 0.8) {
      await readRole(inst, u.email, db.pick(db.teams));
    } else if (r < 0.9) {
      const res = await inst.call("resolveUser", [u.email], { kind: "user", email: u.email });
      record(inst, `user:${u.email}`, res, userObserved(res.value));
    } else {
      const jti = db.pick(db.tokensOf(u.email, false));
      const res = await inst.call("isTokenRevoked", [jti]);
      record(inst, `revoked:${jti}`, res, res.value);
      if (res.ok && res.value === undefined && db.tokens.get(jti)?.revoked === false) {
        // The reference design's racy pattern: ask the database, then cache the negative.
        // A revocation landing in between must still win.
        counts.notRevokedFills++;
        await inst.call("setNotRevoked", [jti]);
      }
    }
  };

  /** Reads through instance `index` of the fleet (replaced when its process is killed). */
  const reader = async (index: number): Promise<void> => {
    while (running) {
      await readOnce(fleet[index] as Instance);
      await sleep(1 + Math.floor(random() * 4));
    }
  };

  const invalidate = async (
    method: string,
    args: readonly unknown[],
    entities: readonly string[],
    first?: Instance,
  ): Promise<void> => {
    const pending = truth.invalidating(entities);
    counts.invalidations++;
    // An invalidation that reports failure is retried until it succeeds (an outbox would);
    // the bound runs from the attempt that succeeded.
    for (let attempt = 0; attempt < 400; attempt++) {
      const inst = attempt === 0 && first ? first : db.pick(fleet);
      const res = await inst.call(method, args);
      if (res.ok) {
        pending.resolved(res.endedAt);
        return;
      }
      pending.failed();
      counts.invalidationRetries++;
      await sleep(50);
    }
  };

  const writer = async (): Promise<void> => {
    while (running) {
      await sleep(30 + Math.floor(random() * 60));
      const change = db.randomChange();
      if (change) await invalidate(change.method, change.args, change.entities);
    }
  };

  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`staleness scenario: this run has no ${what}`);
    return v;
  };
  // Recovery figures: every SAMPLE_MS, each instance's L1 trust and L2 error count, and the
  // database's load count; faults mark their windows.
  const marks: { label: string; at: number }[] = [];
  /** When each fault of the schedule began: a marked fault's window ends at the next one. */
  const boundaries: number[] = [];
  const samples: { at: number; trusted: boolean; l2Errors: number; loads: number }[] = [];
  const readErrorTimes: number[] = [];
  const dbLoads = () => db.loads.ctx + db.loads.role + db.loads.user;
  const sampler = (async () => {
    while (running) {
      const at = Date.now();
      const all = await Promise.all(fleet.map((i) => i.stats().catch(() => undefined)));
      let trusted = true;
      let l2Errors = 0;
      for (const st of all) {
        const c = (st?.cache ?? {}) as Record<string, unknown>;
        if (c.l1Trusted !== true) trusted = false;
        l2Errors += Number(c.l2Errors ?? 0);
      }
      samples.push({ at, trusted, l2Errors, loads: dbLoads() });
      await sleep(SAMPLE_MS);
    }
  })();
  const ctl: FaultControl = {
    get proxy() {
      return need(proxy, "chaos proxy");
    },
    get server() {
      return need(server, "standalone server");
    },
    get cluster() {
      return need(cluster, "cluster");
    },
    async kill() {
      counts.kills++;
      ctl.mark("server killed", "start");
      await need(server, "standalone server").kill();
    },
    count(kind) {
      otherFaults[kind] = (otherFaults[kind] ?? 0) + 1;
    },
    async killWorkerMidWrite() {
      const index = fleet.findIndex((i) => i.kill !== undefined);
      const victim = fleet[index];
      if (victim?.kill === undefined) throw new Error("staleness scenario: no worker to kill");
      ctl.mark("process killed mid-write", "start");
      ctl.count("process kills");
      // Writes in flight on the victim when it dies: an invalidation of a real change (retried
      // elsewhere, as an outbox would) and a burst of fills of the current roles.
      const inflight: Promise<unknown>[] = [];
      const change = db.randomChange();
      if (change) inflight.push(invalidate(change.method, change.args, change.entities, victim));
      for (let k = 0; k < 20; k++) {
        const u = db.pick(db.users);
        const team = db.pick(db.teams);
        const role = db.load({ kind: "role", email: u.email, teamId: team });
        inflight.push(victim.call("setUserRole", [u.email, team, role]));
      }
      await sleep(1 + Math.floor(random() * 3));
      await victim.kill();
      fleet[index] = workerInstance(victim.name, await spawnWorker(config, load));
      await Promise.all(inflight);
    },
    mark(label, edge) {
      if (edge === "start") marks.push({ label, at: Date.now() });
    },
  };
  const loops: Promise<void>[] = [];
  for (let index = 0; index < fleet.length; index++)
    for (let i = 0; i < READERS_PER_INSTANCE; i++) loops.push(reader(index));
  for (let i = 0; i < WRITERS; i++) loops.push(writer());
  for (const f of o.faults(ctl)) {
    if (f.label !== "calm") boundaries.push(Date.now());
    await f.run();
    await sleep(f.holdMs);
    await f.undo?.();
  }
  proxy?.heal();
  // Quiet end: writes stop, readers keep going past the bound, so convergence is checked too.
  await sleep(maxStaleMs + 500);
  running = false;
  await Promise.all(loops);
  await sampler;
  const endedAt = Date.now();
  // A final sweep of every entity on every instance.
  for (const inst of fleet) {
    for (const u of db.users) {
      for (const jti of db.tokensOf(u.email, false)) await readContext(inst, u.email, jti, false);
      for (const team of db.teams) await readRole(inst, u.email, team);
    }
  }

  const report = checkStaleness(truth.history(), { maxStaleMs });
  const stats = await Promise.all(fleet.map((i) => i.stats()));
  const sum = (field: string): number =>
    stats.reduce((n, s) => n + Number((s.cache as Record<string, unknown>)[field] ?? 0), 0);
  const recovery = marks.map((m, i): RecoveryFigure => {
    const end = Math.min(marks[i + 1]?.at ?? endedAt, boundaries.find((b) => b > m.at) ?? endedAt);
    const before = samples.filter((x) => x.at < m.at);
    const inside = samples.filter((x) => x.at >= m.at && x.at < end);
    const first = before[before.length - 1] ?? inside[0];
    let degradedUntil = m.at;
    let untrustedUntil = m.at;
    let prev = first;
    for (const x of inside) {
      if (prev && x.l2Errors > prev.l2Errors) degradedUntil = x.at;
      if (!x.trusted) untrustedUntil = x.at + SAMPLE_MS;
      prev = x;
    }
    for (const t of readErrorTimes)
      if (t >= m.at && t < end && t > degradedUntil) degradedUntil = t;
    const last = inside[inside.length - 1];
    const calmBefore = before.filter((x) => x.at >= m.at - 1000);
    const rate =
      calmBefore.length > 1
        ? ((calmBefore[calmBefore.length - 1] as { loads: number }).loads -
            (calmBefore[0] as { loads: number }).loads) /
          Math.max(
            1,
            (calmBefore[calmBefore.length - 1] as { at: number }).at -
              (calmBefore[0] as { at: number }).at,
          )
        : 0;
    return {
      label: m.label,
      degradedMs: degradedUntil - m.at,
      dbRequests: last && first ? last.loads - first.loads : 0,
      dbRequestsBaseline: Math.round(rate * (end - m.at)),
      l1UntrustedMs: untrustedUntil - m.at,
      windowMs: end - m.at,
    };
  });
  const pf = proxyStats().faults;
  const f = {
    delay: pf.delay - base.faults.delay,
    blackhole: pf.blackhole - base.faults.blackhole,
    cut: pf.cut - base.faults.cut,
    refuse: pf.refuse - base.faults.refuse,
  };
  const other = Object.values(otherFaults).reduce((a, b) => a + b, 0);
  const faultsInjected = f.delay + f.blackhole + f.cut + f.refuse + counts.kills + other;
  const operations =
    counts.reads + counts.invalidations + counts.notRevokedFills + counts.roleFills;
  const summary =
    `operations=${operations} (reads ${counts.reads}, invalidations ${counts.invalidations}, ` +
    `invalidation retries ${counts.invalidationRetries}, notRevoked fills ${counts.notRevokedFills}, ` +
    `role fills ${counts.roleFills}, calls killed with their process ${counts.callsKilled}) faults=${faultsInjected} (delay ${f.delay}, blackhole ${f.blackhole}, ` +
    `cut ${f.cut}, refuse ${f.refuse}, server kills ${counts.kills}` +
    Object.entries(otherFaults)
      .map(([k, v]) => `, ${k} ${v}`)
      .join("") +
    `; connections reset ` +
    `${proxyStats().cutConnections - base.cutConnections}, bytes dropped ${proxyStats().droppedBytes - base.droppedBytes}) ` +
    `stale reads=${report.stale.length} foreign reads=${report.foreign.length} ` +
    `[checked ${report.checked} reads on ${fleet.length} instances (pids ${[...new Set(fleet.map((i) => i.pid))].join(",")}), ` +
    `longest old value served after its invalidation ${report.maxServedAfterInvalidationMs} ms of ${maxStaleMs}; ` +
    `l1Hits ${sum("l1Hits")}, l2Hits ${sum("l2Hits")}, l2Errors ${sum("l2Errors")}, busResets ${sum("busResets")}, ` +
    `staleFillsRejected ${sum("staleFillsRejected")}, db loads ${db.loads.ctx + db.loads.role + db.loads.user}; seed ${o.seed}]`;
  return {
    report,
    counts,
    faultsInjected,
    otherFaults,
    readErrors: errors,
    recovery,
    sum,
    summary,
  };
}

/** Seconds a soak run lasts (`AUTHCACHE_SOAK_SECONDS`, set by `make soak`), or 0. */
export function soakSeconds(): number {
  const raw = process.env.AUTHCACHE_SOAK_SECONDS;
  if (raw === undefined || raw === "") return 0;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 86_400)
    throw new RangeError(`AUTHCACHE_SOAK_SECONDS must be 0..86400, got ${JSON.stringify(raw)}`);
  return n;
}

/** The schedule `build` makes, once (make test), or again and again until
 *  AUTHCACHE_SOAK_SECONDS have passed (make soak). */
export function* soak<T>(build: () => Iterable<T>): Iterable<T> {
  const until = Date.now() + soakSeconds() * 1000;
  do yield* build();
  while (Date.now() < until);
}

/** A test timeout that leaves room for a soak run: `shortMs`, plus the soak's length twice. */
export const soakTimeout = (shortMs: number): number => shortMs + soakSeconds() * 2000;

/** A bus that keeps confirming it is caught up but never applies an entry: the lie the bound
 *  relies on never being told (a sabotaged instance the checker must catch). */
export function deafButConfirming(bus: InvalidationBus): InvalidationBus {
  return {
    name: `deaf-${bus.name}`,
    get dropped() {
      return bus.dropped;
    },
    publish: (m) => bus.publish(m),
    subscribe: (h) => bus.subscribe({ message: () => {}, reset: () => {}, caughtUp: h.caughtUp }),
    onState: (l) => bus.onState(l),
    close: () => bus.close(),
  };
}

/** A pause in the fault schedule: no fault for `holdMs`. */
export const calm = (holdMs: number): Fault => ({ label: "calm", run: () => {}, holdMs });

/** One chaos test file's fixtures: a real server of `kind` behind a chaos proxy, started before
 *  the file's tests and stopped (with every instance left in `fleet`) after them. */
export function chaosFixture(kind: "redis" | "valkey"): {
  readonly server: TestServer;
  readonly proxy: TcpProxy;
  readonly fleet: Instance[];
} {
  let server: TestServer | undefined;
  let proxy: TcpProxy | undefined;
  const fleet: Instance[] = [];
  beforeAll(async () => {
    server = await startServer(kind);
    proxy = await startTcpProxy(server);
  });
  afterAll(async () => {
    for (const inst of fleet) await inst.close().catch(() => {});
    await proxy?.close();
    await server?.stop();
  }, 30_000);
  const ready = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`chaos fixture: ${what} not started (beforeAll failed)`);
    return v;
  };
  return {
    get server() {
      return ready(server, "server");
    },
    get proxy() {
      return ready(proxy, "proxy");
    },
    fleet,
  };
}

/** Prints the run's summary (and the first offenders), then asserts what every chaos run must
 *  show: no stale read, no foreign read, no read error, every invalidation resolved. */
export function expectNoStaleReads(result: ScenarioResult, label: string): void {
  const { report } = result;
  console.log(`${label}: ${result.summary}`);
  if (report.stale.length > 0) console.log("first stale reads:", report.stale.slice(0, 5));
  if (report.foreign.length > 0) console.log("first foreign reads:", report.foreign.slice(0, 5));
  if (result.readErrors.length > 0) console.log("read errors:", result.readErrors);
  for (const r of result.recovery)
    console.log(
      `${label} recovery: ${r.label}: reads degraded ${r.degradedMs} ms, database requests ` +
        `${r.dbRequests} (calm rate would give ${r.dbRequestsBaseline}), L1 untrusted for ` +
        `${r.l1UntrustedMs} ms (window ${r.windowMs} ms)`,
    );
  expect(report.stale).toEqual([]);
  expect(report.foreign).toEqual([]);
  expect(result.counts.readErrors).toBe(0);
  expect(report.unresolvedInvalidations).toBe(0);
}
