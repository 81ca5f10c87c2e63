import type { TestServer } from "@authcache/test-servers";

/** "smoke" proves a scenario still runs (tiny sizes, counts only); "full" is `make bench`. */
export type Size = "smoke" | "full";

export type PinMode = "split" | "same" | "none";

/** How the benchmark process and the servers were placed on CPUs (printed with the results). */
export interface PinInfo {
  readonly mode: PinMode;
  /** Why the requested mode could not be used, when it fell back. */
  readonly note?: string;
  readonly benchCpu?: number;
  readonly serverCpu?: number;
}

/** One line of a scenario's table. */
export interface Row {
  /** What was measured ("getAuthContext, L1 hit"). */
  readonly case: string;
  /** memory, redis, valkey, libsql, or "-" when no backend is involved. */
  readonly backend: string;
  readonly subject: "authcache" | "peer" | "baseline";
  /** Rows with the same group answer the same question, so they may be compared (the summary
   *  lists every authcache row that a peer of its group beats). */
  readonly group?: string;
  /** The scenario's primary metric (see ScenarioResult.metric). */
  readonly value: number;
  /** Spread of `value` across runs, when it was measured in several runs. */
  readonly min?: number;
  readonly max?: number;
  /** value / (the baseline named by ScenarioResult.baseline, measured in the same run). */
  readonly ratio?: number;
  /** Further columns, rendered in the order of ScenarioResult.columns. */
  readonly cols?: Readonly<Record<string, string | number>>;
}

export interface ScenarioResult {
  readonly id: string;
  readonly title: string;
  /** The primary metric's name with its unit ("p50 ns/op"). */
  readonly metric: string;
  readonly better: "lower" | "higher";
  /** What `ratio` divides by. */
  readonly baseline: string;
  /** Names of the extra columns, in display order. */
  readonly columns: readonly string[];
  readonly rows: Row[];
  /** Methodology and caveats that a reader needs to read the rows right. */
  readonly notes: string[];
  /** What could not be measured in this run, and why (a package not landed, a skipped size). */
  readonly missing: string[];
  readonly durationMs: number;
}

/** What the runner hands each scenario. */
export interface Context {
  readonly size: Size;
  readonly pin: PinInfo;
  /** A server of that kind, started on first use (pinned per the mode), flushed by the caller. */
  server(kind: "redis" | "valkey"): Promise<TestServer>;
  /** FLUSHALL on that server (starting it if needed): each scenario starts from an empty one. */
  flush(kind: "redis" | "valkey"): Promise<void>;
  /** Progress for humans; goes to stderr. */
  log(message: string): void;
}

export interface Scenario {
  readonly id: string;
  readonly title: string;
  run(ctx: Context): Promise<ScenarioResult>;
}
