import type { InvalidationBus, Store } from "@authcache/core";
import { busSuite } from "./bus/index.ts";
import type { BusTest, BusTestContext, StoreTest } from "./define.ts";
import { testKeys } from "./keys.ts";
import type { BusSuiteOptions, StoreSuiteOptions, SuiteRunner } from "./options.ts";
import { storeSuite } from "./store/index.ts";

const DEFAULT_TIMEOUT_MS = 15_000;

/** Wires setup/cleanup onto the runner's hooks, or lazily/last when the runner has none. */
function lifecycle(
  options: SuiteRunner & { name: string; setup?(): Promise<void>; cleanup?(): Promise<void> },
  timeoutMs: number,
): { ready(): Promise<void>; finish(): void } {
  let setupDone: Promise<void> | undefined;
  const ready = () => {
    setupDone ??= options.setup ? options.setup() : Promise.resolve();
    return setupDone;
  };
  if (options.beforeAll) options.beforeAll(ready);
  const finish = () => {
    if (!options.cleanup) return;
    const cleanup = options.cleanup.bind(options);
    if (options.afterAll) options.afterAll(cleanup);
    else options.test(`${options.name} cleanup`, cleanup, timeoutMs);
  };
  return { ready, finish };
}

function checkSkips(suite: string, skip: Record<string, string | undefined>, known: Set<string>) {
  for (const [name, reason] of Object.entries(skip)) {
    if (!known.has(name)) throw new Error(`${suite}: skip names an unknown test "${name}"`);
    if (!reason || reason.trim().length < 10)
      throw new Error(
        `${suite}: the opt-out of "${name}" must say why and which test covers it instead`,
      );
  }
}

/** Closes every resource a test opened, in reverse order, keeping the first error. */
export async function closeAll(items: { close(): Promise<void> }[]): Promise<unknown> {
  let first: unknown;
  for (const item of items.reverse()) {
    try {
      await item.close();
    } catch (err) {
      first ??= err;
    }
  }
  return first;
}

async function runAndClose(
  body: () => Promise<void>,
  opened: () => { close(): Promise<void> }[],
): Promise<void> {
  let failure: unknown;
  let failed = false;
  try {
    await body();
  } catch (err) {
    failure = err;
    failed = true;
  }
  const closeErr = await closeAll(opened());
  if (failed) throw failure;
  if (closeErr !== undefined) throw closeErr;
}

/** What `registerSuite` needs of a suite's options. */
type Registrable = SuiteRunner & {
  readonly name: string;
  setup?(): Promise<void>;
  cleanup?(): Promise<void>;
  readonly timeoutMs?: number;
  readonly skip?: Partial<Record<string, string>>;
};

/**
 * Registers one test per entry of `tests`, named "<options.name> <kind> <test name>": checks the
 * opt-outs, reports the skipped ones through `skipTest`, runs `body` after setup, and wires
 * cleanup. `body` gets the suite's label for error messages.
 */
export function registerSuite<T extends { readonly name: string; readonly timeoutMs?: number }>(
  options: Registrable,
  kind: string,
  tests: readonly T[],
  body: (t: T, suite: string) => Promise<void>,
): void {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const skip: Record<string, string | undefined> = options.skip ?? {};
  const suite = `@authcache/conformance (${options.name})`;
  checkSkips(suite, skip, new Set(tests.map((t) => t.name)));
  const { ready, finish } = lifecycle(options, timeoutMs);
  for (const t of tests) {
    const title = `${options.name} ${kind} ${t.name}`;
    const reason = skip[t.name];
    if (reason !== undefined) {
      options.skipTest?.(title, reason);
      continue;
    }
    const run = async () => {
      await ready();
      await body(t, suite);
    };
    options.test(title, run, t.timeoutMs ?? timeoutMs);
  }
  finish();
}

/**
 * Registers the Store conformance suite with the given runner: one test per behaviour, named
 * "<options.name> store <topic>: <behaviour>". Call it at the top level of a test file.
 */
export function runStoreSuite(options: StoreSuiteOptions): void {
  const resolutionMs = Math.max(1, options.timing?.resolutionMs ?? 1);
  registerSuite(options, "store", storeSuite as readonly StoreTest[], async (t) => {
    const opened: Store[] = [];
    await runAndClose(
      () =>
        t.run({
          createStore: async () => {
            const store = await options.createStore();
            opened.push(store);
            return store;
          },
          keys: testKeys(),
          resolutionMs,
        }),
      () => opened,
    );
  });
}

/**
 * Registers the InvalidationBus conformance suite: one test per behaviour, each on a fresh log
 * from `options.createLog()`. A test that needs a hook the log does not offer fails, naming the
 * hook, unless `skip` names it with a reason.
 */
export function runBusSuite(options: BusSuiteOptions): void {
  const confirmIntervalMs = options.timing?.confirmIntervalMs ?? 250;
  let seq = 0;
  registerSuite(options, "bus", busSuite as readonly BusTest[], async (t, suite) => {
    const log = await options.createLog();
    const opened: InvalidationBus[] = [];
    seq += 1;
    const ctx: BusTestContext = {
      log,
      createBus: async () => {
        const bus = await log.createBus();
        opened.push(bus);
        return bus;
      },
      confirmIntervalMs,
      tag: `b${seq}-${Math.random().toString(36).slice(2, 8)}`,
    };
    const logCloser = { close: async () => log.close?.() };
    await runAndClose(
      async () => {
        const missing = (t.needs ?? []).filter((hook) => typeof log[hook] !== "function");
        if (missing.length > 0)
          throw new Error(
            `${suite}: "${t.name}" needs ${missing.map((h) => `TestLog.${h}()`).join(", ")}; provide it or list the test in skip with a reason`,
          );
        await t.run(ctx);
      },
      () => [logCloser, ...opened],
    );
  });
}
