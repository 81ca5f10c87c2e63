/**
 * The model-based explorer of the staleness promise: fast-check generates action sequences
 * (see actions.ts), each runs on a fresh fleet (run.ts) against the ground truth (model.ts),
 * and a failure shrinks to a minimal sequence printed with its seed and path.
 *
 * Replay: AUTHCACHE_SEED=<seed> runs that seed (generation and shrinking again);
 * AUTHCACHE_SEED=<seed>:<path> replays exactly the shrunk counterexample fast-check printed.
 */
import { createMemoryBus, createMemoryStore } from "@authcache/adapter-memory";
import fc from "fast-check";
import { type Action, actionArb, formatActions, skipFromEnv } from "./actions.ts";
import { T0 } from "./model.ts";
import { type Backend, Run } from "./run.ts";

export interface Totals {
  runs: number;
  actions: number;
  faults: number;
  invalidations: number;
  loads: number;
  l1Hits: number;
  /** Revocations sent as one ordered publish (store writes + append; memory, Redis, Valkey). */
  orderedPublishes: number;
  reads: number;
  checked: number;
}

/** One run's input: what a failure prints and AUTHCACHE_EXPLORE_CASE takes back. */
export interface Case {
  readonly instances: number;
  readonly warm: boolean;
  readonly actions: readonly Action[];
}

export interface Outcome {
  readonly backend: string;
  readonly seed: number;
  readonly failed: boolean;
  /** The report to print (counterexample, violations, replay line) when failed. */
  readonly report: string;
  readonly numRuns: number;
  readonly totals: Totals;
}

export interface ExploreOptions {
  readonly seed: number;
  readonly path?: string;
  readonly numRuns: number;
  readonly maxActions?: number;
  /** Sequences run first; they count among `numRuns` (1 run with 1 example runs just it). */
  readonly examples?: readonly Case[];
  /** Actions left out (see actionArb); default AUTHCACHE_EXPLORE_SKIP. */
  readonly skip?: readonly string[];
  /** Stop generating new runs after this many ms (shrinking still finishes). */
  readonly budgetMs?: number;
}

const immediate = () => new Promise<void>((r) => setImmediate(r));
const settle = async () => {
  for (let i = 0; i < 3; i++) await immediate();
};

/** A fleet on the memory store and log with a fake clock: deterministic. */
export function memoryBackend(): Backend {
  const clock = { t: T0 };
  const now = () => clock.t;
  const store = createMemoryStore({ now });
  // The ticker never fires on its own: the explorer confirms when its clock says so.
  // Given the store, the bus takes the ordered publish into it, as Redis and Valkey do.
  const bus = createMemoryBus({ confirmIntervalMs: 1_000_000_000, now, maxLength: 10_000, store });
  const views: { close(): Promise<void> }[] = [];
  return {
    name: "memory",
    maxStaleMs: 1_000,
    now,
    async advance(ms) {
      clock.t += ms;
    },
    settle,
    connect() {
      const v = bus.connect();
      views.push(v);
      return {
        store,
        bus: v,
        native: { setDeaf: (d) => v.setDeaf(d) },
      };
    },
    log(fault, keep) {
      // remove/recreate came with the log's epoch and sequence numbers (older memory logs,
      // as on a scratch checkout of an earlier commit, only trim).
      const log = bus as { remove?: (fromEnd: number) => void; recreate?: () => void };
      if (fault === "trim") bus.trim(keep);
      else if (fault === "remove") log.remove?.(0);
      else log.recreate?.();
    },
    // A follower's read waits for an append; waking it returns that read, and the follower
    // confirms as of when the read was SENT (before this advance), then sends the next one.
    // Waking that one confirms as of now.
    async confirm(buses) {
      for (let i = 0; i < 2; i++) {
        for (const b of buses) b.wake();
        await settle();
      }
    },
    // Timeouts never fire on their own (a held call is released or failed by the explorer).
    cacheOptions: { l2: { timeoutMs: 3_600_000, breaker: { failures: 5, resetMs: 1_000 } } },
    async close() {
      for (const v of views) await v.close();
      await bus.close();
      await store.close();
    },
  };
}

/** Runs the explorer; never throws for a violation (the outcome says), so callers report. */
export async function explore(
  makeBackend: () => Backend | Promise<Backend>,
  options: ExploreOptions,
): Promise<Outcome> {
  const totals: Totals = {
    runs: 0,
    actions: 0,
    faults: 0,
    invalidations: 0,
    loads: 0,
    l1Hits: 0,
    orderedPublishes: 0,
    reads: 0,
    checked: 0,
  };
  let backendName = "?";
  const deadline = options.budgetMs === undefined ? Infinity : Date.now() + options.budgetMs;
  const property = fc.asyncProperty(
    fc.integer({ min: 2, max: 3 }),
    fc.boolean(),
    fc.array(actionArb(options.skip ?? skipFromEnv()), {
      minLength: 1,
      maxLength: options.maxActions ?? 40,
      size: "max",
    }),
    async (instances: number, warm: boolean, actions: Action[]) => {
      const backend = await makeBackend();
      backendName = backend.name;
      const run = new Run(backend, instances);
      try {
        await run.start(warm);
        for (const a of actions) await run.step(a);
        await run.quiesce();
      } finally {
        await run.close();
        await backend.close();
      }
      totals.runs++;
      totals.actions += run.stats.actions;
      totals.faults += run.stats.faults;
      totals.invalidations += run.stats.invalidations;
      totals.loads += run.stats.loads;
      totals.l1Hits += run.stats.l1Hits;
      totals.orderedPublishes += run.stats.orderedPublishes;
      totals.reads += run.gt.reads;
      totals.checked += run.gt.checked;
      const v = run.gt.violations;
      if (v.length > 0) {
        throw new Error(
          v
            .slice(0, 5)
            .map((x) => x.message)
            .join("\n"),
        );
      }
    },
  );
  let details = await fc.check(property, {
    seed: options.seed,
    numRuns: options.numRuns,
    ...(options.path === undefined ? {} : { path: options.path, endOnFailure: true }),
    examples: (options.examples ?? []).map(
      (c) => [c.instances, c.warm, [...c.actions]] as [number, boolean, Action[]],
    ),
    interruptAfterTimeLimit: Number.isFinite(deadline) ? deadline - Date.now() : undefined,
    markInterruptAsFailure: false,
  });
  const foundAt = details.numRuns;
  if (details.failed && details.interrupted && options.path === undefined) {
    // The time budget also cut the shrinking short: go on shrinking from where it stopped.
    const first = details;
    details = await fc.check(property, { seed: first.seed, path: first.counterexamplePath ?? "" });
    if (!details.failed) details = first;
  }
  let report = "";
  if (details.failed) {
    const [instances, warm, actions] = (details.counterexample ?? [0, false, []]) as [
      number,
      boolean,
      Action[],
    ];
    const error =
      details.errorInstance instanceof Error
        ? details.errorInstance.message
        : String(details.errorInstance);
    report = [
      `explorer (${backendName}) found a violation of the staleness promise after ${foundAt} run(s), shrunk ${details.numShrinks} time(s):`,
      error
        .split("\n")
        .map((l) => `  ${l}`)
        .join("\n"),
      `minimal sequence on ${instances} ${warm ? "warm" : "cold"} instances (then: heal, finish, retry, read everything after maxStaleMs):`,
      formatActions(actions),
      `replay: AUTHCACHE_SEED=${details.seed}:${details.counterexamplePath} make test   (or: cd test && AUTHCACHE_SEED=... bun test explorer)`,
      `or run just this case: cd test && AUTHCACHE_EXPLORE_CASE='${JSON.stringify({ instances, warm, actions })}' bun test explorer`,
    ].join("\n");
  }
  return {
    backend: backendName,
    seed: options.seed,
    failed: details.failed,
    report,
    numRuns: foundAt,
    totals,
  };
}

/** `AUTHCACHE_EXPLORE_CASE` (the JSON a failure prints), or undefined. */
export function caseFromEnv(): Case | undefined {
  const raw = process.env.AUTHCACHE_EXPLORE_CASE?.trim();
  if (raw === undefined || raw === "") return undefined;
  const c = JSON.parse(raw) as Case;
  if (!Number.isInteger(c.instances) || typeof c.warm !== "boolean" || !Array.isArray(c.actions)) {
    throw new TypeError(
      "AUTHCACHE_EXPLORE_CASE must be the JSON a failure prints: { instances, warm, actions }",
    );
  }
  return c;
}

/** `AUTHCACHE_SEED` as { seed, path }, or undefined. */
export function seedFromEnv(): { seed: number; path?: string } | undefined {
  const raw = process.env.AUTHCACHE_SEED?.trim();
  if (raw === undefined || raw === "") return undefined;
  const [s, ...rest] = raw.split(":");
  const seed = Number(s);
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`AUTHCACHE_SEED must be <seed> or <seed>:<path>, got ${raw}`);
  }
  return rest.length > 0 ? { seed, path: rest.join(":") } : { seed };
}
