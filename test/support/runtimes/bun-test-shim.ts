/**
 * Enough of `bun:test` to run packages' Bun unit tests under Node (`node --test`) and Deno
 * (`deno test`): the test files are bundled with `bun:test` pointing here. Suites are flattened
 * into top-level tests named "suite > test" (so every runner counts every test the same way);
 * suite hooks run inside the first and last test of their suite.
 */
import { isDeepStrictEqual } from "node:util";

type Fn = () => unknown;
type TestFn = (...args: unknown[]) => unknown;

interface Frame {
  readonly name: string;
  readonly beforeAll: Fn[];
  readonly afterAll: Fn[];
  readonly beforeEach: Fn[];
  readonly afterEach: Fn[];
  /** Tests and nested frames, in declaration order. */
  readonly items: (Case | Frame)[];
  readonly parent: Frame | undefined;
}

interface Case {
  readonly name: string;
  readonly fn: TestFn | undefined;
  readonly timeout: number | undefined;
  readonly skip: boolean;
}

const root: Frame = {
  name: "",
  beforeAll: [],
  afterAll: [],
  beforeEach: [],
  afterEach: [],
  items: [],
  parent: undefined,
};
let current: Frame = root;
let scheduled = false;

interface Registered {
  readonly name: string;
  readonly run: () => Promise<void>;
  readonly timeout: number | undefined;
  readonly skip: boolean;
}

/** Flattens a frame into tests; hooks of a suite run with its first and last test. */
function flatten(frame: Frame, prefix: string, out: Registered[], outer: Frame[]): void {
  const chain = [...outer, frame];
  const cases: { c: Case; path: string }[] = [];
  const collect = (f: Frame, p: string): void => {
    for (const item of f.items) {
      if ("items" in item) collect(item, `${p}${item.name} > `);
      else cases.push({ c: item, path: p });
    }
  };
  collect(frame, prefix);
  // Each frame's beforeAll runs before the first test inside it, afterAll after the last.
  const firstOf = new Map<Frame, Case>();
  const lastOf = new Map<Frame, Case>();
  const framesOf = new Map<Case, Frame[]>();
  const walk = (f: Frame, stack: Frame[]): void => {
    for (const item of f.items) {
      if ("items" in item) walk(item, [...stack, item]);
      else {
        framesOf.set(item, stack);
        for (const fr of stack) {
          if (!firstOf.has(fr)) firstOf.set(fr, item);
          lastOf.set(fr, item);
        }
      }
    }
  };
  walk(frame, chain);
  for (const { c, path } of cases) {
    const frames = framesOf.get(c) ?? chain;
    out.push({
      name: `${path}${c.name}`,
      timeout: c.timeout,
      skip: c.skip,
      run: async () => {
        // Like Bun's runner, keep the event loop alive while a test is pending: a test awaiting
        // only unref'd timers would otherwise be cancelled by Node and failed by Deno.
        const keepAlive = setInterval(() => {}, 60_000);
        try {
          await runWithHooks(c, frames, firstOf, lastOf);
        } finally {
          clearInterval(keepAlive);
        }
      },
    });
  }
}

async function runWithHooks(
  c: Case,
  frames: readonly Frame[],
  firstOf: ReadonlyMap<Frame, Case>,
  lastOf: ReadonlyMap<Frame, Case>,
): Promise<void> {
  for (const fr of frames) if (firstOf.get(fr) === c) for (const h of fr.beforeAll) await h();
  try {
    for (const fr of frames) for (const h of fr.beforeEach) await h();
    try {
      await runCase(c);
    } finally {
      for (const fr of [...frames].reverse()) for (const h of fr.afterEach) await h();
    }
  } finally {
    for (const fr of [...frames].reverse())
      if (lastOf.get(fr) === c) for (const h of fr.afterAll) await h();
  }
}

function runCase(c: Case): unknown {
  const fn = c.fn;
  if (!fn) return undefined;
  if (fn.length > 0) {
    // A `done` callback test.
    return new Promise<void>((resolve, reject) => {
      fn((e?: unknown) => (e ? reject(e) : resolve()));
    });
  }
  return fn();
}

declare const Deno:
  | { test(o: { name: string; fn: () => Promise<void>; ignore?: boolean }): void }
  | undefined;

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  // Registration is synchronous in a test file; flush once the module body has run.
  queueMicrotask(async () => {
    const tests: Registered[] = [];
    flatten(root, "", tests, []);
    if (typeof Deno !== "undefined") {
      for (const t of tests) Deno.test({ name: t.name, fn: t.run, ignore: t.skip });
    } else {
      const { test: nodeTest } = await import("node:test");
      for (const t of tests) {
        nodeTest(t.name, { skip: t.skip, ...(t.timeout ? { timeout: t.timeout } : {}) }, t.run);
      }
    }
  });
}

function addCase(name: string, fn: TestFn | undefined, timeout: unknown, skip = false): void {
  current.items.push({
    name,
    fn,
    timeout: typeof timeout === "number" ? timeout : undefined,
    skip,
  });
  schedule();
}

function format(name: string, args: unknown[], index: number): string {
  let i = 0;
  return name.replace(/%[sdipfjo#%]/g, (m) => {
    if (m === "%%") return "%";
    if (m === "%#") return String(index);
    const v = args[i++];
    return typeof v === "string" ? v : m === "%j" || m === "%o" ? JSON.stringify(v) : String(v);
  });
}

function each(register: (name: string, fn: TestFn, timeout?: unknown) => void) {
  return (table: readonly unknown[]) =>
    (name: string, fn: TestFn, timeout?: unknown): void => {
      table.forEach((row, index) => {
        const args = Array.isArray(row) ? row : [row];
        register(format(name, args, index), () => fn(...args), timeout);
      });
    };
}

interface TestApi {
  (name: string, fn?: TestFn, timeout?: unknown): void;
  skip(name: string, fn?: TestFn, timeout?: unknown): void;
  todo(name: string, fn?: TestFn): void;
  only(name: string, fn?: TestFn, timeout?: unknown): void;
  if(condition: boolean): (name: string, fn?: TestFn, timeout?: unknown) => void;
  skipIf(condition: boolean): (name: string, fn?: TestFn, timeout?: unknown) => void;
  each(table: readonly unknown[]): (name: string, fn: TestFn, timeout?: unknown) => void;
}

const testImpl = ((name: string, fn?: TestFn, timeout?: unknown) =>
  addCase(name, fn, timeout)) as TestApi;
testImpl.skip = (name, fn, timeout) => addCase(name, fn, timeout, true);
testImpl.todo = (name) => addCase(name, undefined, undefined, true);
testImpl.only = (name, fn, timeout) => addCase(name, fn, timeout);
testImpl.if = (condition) => (name, fn, timeout) => addCase(name, fn, timeout, !condition);
testImpl.skipIf = (condition) => (name, fn, timeout) => addCase(name, fn, timeout, condition);
testImpl.each = each((name, fn, timeout) => addCase(name, fn, timeout));

export const test = testImpl;
export const it = testImpl;

interface DescribeApi {
  (name: string, fn: () => void): void;
  skip(name: string, fn: () => void): void;
  if(condition: boolean): (name: string, fn: () => void) => void;
  each(table: readonly unknown[]): (name: string, fn: TestFn) => void;
}

function runDescribe(name: string, fn: () => void, skip: boolean): void {
  const frame: Frame = {
    name,
    beforeAll: [],
    afterAll: [],
    beforeEach: [],
    afterEach: [],
    items: [],
    parent: current,
  };
  current.items.push(frame);
  const saved = current;
  current = frame;
  try {
    fn();
  } finally {
    current = saved;
  }
  if (skip) {
    const mark = (f: Frame): void => {
      for (let i = 0; i < f.items.length; i++) {
        const item = f.items[i];
        if (item && "items" in item) mark(item);
        else if (item) f.items[i] = { ...item, skip: true };
      }
    };
    mark(frame);
  }
}

const describeImpl = ((name: string, fn: () => void) =>
  runDescribe(name, fn, false)) as DescribeApi;
describeImpl.skip = (name, fn) => runDescribe(name, fn, true);
describeImpl.if = (condition) => (name, fn) => runDescribe(name, fn, !condition);
describeImpl.each = (table) => (name, fn) => {
  table.forEach((row, index) => {
    const args = Array.isArray(row) ? row : [row];
    runDescribe(format(name, args, index), () => void fn(...args), false);
  });
};
export const describe = describeImpl;

export const beforeAll = (fn: Fn): void => void current.beforeAll.push(fn);
export const afterAll = (fn: Fn): void => void current.afterAll.push(fn);
export const beforeEach = (fn: Fn): void => void current.beforeEach.push(fn);
export const afterEach = (fn: Fn): void => void current.afterEach.push(fn);

// ---------------------------------------------------------------------------------- expect

function show(v: unknown): string {
  try {
    if (typeof v === "string") return JSON.stringify(v);
    if (typeof v === "bigint") return `${v}n`;
    if (typeof v === "function") return `[Function ${v.name || "anonymous"}]`;
    const s = JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x));
    return s === undefined ? String(v) : s.length > 300 ? `${s.slice(0, 300)}…` : s;
  } catch {
    return String(v);
  }
}

/** Bun's toEqual: deep equality that ignores properties whose value is undefined. */
function equals(a: unknown, b: unknown, strict: boolean): boolean {
  if (strict) return isDeepStrictEqual(a, b);
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (a instanceof RegExp && b instanceof RegExp) return String(a) === String(b);
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !equals(v, b.get(k), false)) return false;
    return true;
  }
  if (a instanceof Set && b instanceof Set) {
    if (a.size !== b.size) return false;
    for (const v of a) if (!b.has(v)) return false;
    return true;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    return a.every((x, i) => equals(x, b[i], false));
  }
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every(
    (k) =>
      Object.hasOwn(b, k) &&
      equals((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], false),
  );
}

function matchesObject(actual: unknown, expected: unknown): boolean {
  if (typeof expected !== "object" || expected === null) return equals(actual, expected, false);
  if (typeof actual !== "object" || actual === null) return false;
  if (Array.isArray(expected)) {
    return (
      Array.isArray(actual) &&
      actual.length === expected.length &&
      expected.every((e, i) => matchesObject(actual[i], e))
    );
  }
  return Object.entries(expected).every(([k, v]) =>
    matchesObject((actual as Record<string, unknown>)[k], v),
  );
}

function thrownMatches(error: unknown, expected: unknown): boolean {
  if (expected === undefined) return true;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof expected === "string") return message.includes(expected);
  if (expected instanceof RegExp) return expected.test(message);
  if (typeof expected === "function") return error instanceof (expected as new () => unknown);
  if (expected instanceof Error) return message === expected.message;
  if (typeof expected === "object" && expected !== null) return matchesObject(error, expected);
  return false;
}

type Matcher = (...args: unknown[]) => unknown;
type MatcherName =
  | "toBe"
  | "toEqual"
  | "toStrictEqual"
  | "toBeUndefined"
  | "toBeDefined"
  | "toBeNull"
  | "toBeNil"
  | "toBeTruthy"
  | "toBeFalsy"
  | "toBeNaN"
  | "toBeTypeOf"
  | "toBeInstanceOf"
  | "toBeGreaterThan"
  | "toBeGreaterThanOrEqual"
  | "toBeLessThan"
  | "toBeLessThanOrEqual"
  | "toBeCloseTo"
  | "toMatch"
  | "toContain"
  | "toContainEqual"
  | "toHaveLength"
  | "toHaveProperty"
  | "toMatchObject"
  | "toThrow";
type Matchers = Record<MatcherName, Matcher>;

function matchers(
  actual: unknown,
  negate: boolean,
  wrap: (check: () => void) => unknown,
): Matchers {
  const assert = (pass: boolean, message: string): void => {
    if (pass === negate)
      throw new Error(negate ? `expected not: ${message}` : `expected: ${message}`);
  };
  const m =
    (check: (...args: unknown[]) => void) =>
    (...args: unknown[]) =>
      wrap(() => check(...args));
  const num = (v: unknown): number | bigint => v as number | bigint;
  return {
    toBe: m((e) => assert(Object.is(actual, e), `${show(actual)} to be ${show(e)}`)),
    toEqual: m((e) => assert(equals(actual, e, false), `${show(actual)} to equal ${show(e)}`)),
    toStrictEqual: m((e) =>
      assert(equals(actual, e, true), `${show(actual)} to strictly equal ${show(e)}`),
    ),
    toBeUndefined: m(() => assert(actual === undefined, `${show(actual)} to be undefined`)),
    toBeDefined: m(() => assert(actual !== undefined, `${show(actual)} to be defined`)),
    toBeNull: m(() => assert(actual === null, `${show(actual)} to be null`)),
    toBeNil: m(() => assert(actual == null, `${show(actual)} to be null or undefined`)),
    toBeTruthy: m(() => assert(Boolean(actual), `${show(actual)} to be truthy`)),
    toBeFalsy: m(() => assert(!actual, `${show(actual)} to be falsy`)),
    toBeNaN: m(() => assert(Number.isNaN(actual), `${show(actual)} to be NaN`)),
    toBeTypeOf: m((t) => assert(typeof actual === t, `${show(actual)} to be of type ${t}`)),
    toBeInstanceOf: m((c) =>
      assert(
        actual instanceof (c as new () => unknown),
        `${show(actual)} to be an instance of ${(c as { name?: string }).name}`,
      ),
    ),
    toBeGreaterThan: m((n) => assert(num(actual) > num(n), `${show(actual)} > ${show(n)}`)),
    toBeGreaterThanOrEqual: m((n) =>
      assert(num(actual) >= num(n), `${show(actual)} >= ${show(n)}`),
    ),
    toBeLessThan: m((n) => assert(num(actual) < num(n), `${show(actual)} < ${show(n)}`)),
    toBeLessThanOrEqual: m((n) => assert(num(actual) <= num(n), `${show(actual)} <= ${show(n)}`)),
    toBeCloseTo: m((n, digits) => {
      const d = typeof digits === "number" ? digits : 2;
      assert(
        Math.abs((actual as number) - (n as number)) < 10 ** -d / 2,
        `${show(actual)} to be close to ${show(n)}`,
      );
    }),
    toMatch: m((p) => {
      const s = String(actual);
      assert(
        p instanceof RegExp ? p.test(s) : s.includes(String(p)),
        `${show(actual)} to match ${String(p)}`,
      );
    }),
    toContain: m((item) => {
      const pass =
        typeof actual === "string"
          ? actual.includes(String(item))
          : Array.isArray(actual) || actual instanceof Set
            ? [...(actual as Iterable<unknown>)].some((x) => Object.is(x, item))
            : false;
      assert(pass, `${show(actual)} to contain ${show(item)}`);
    }),
    toContainEqual: m((item) =>
      assert(
        Array.isArray(actual) && actual.some((x) => equals(x, item, false)),
        `${show(actual)} to contain an element equal to ${show(item)}`,
      ),
    ),
    toHaveLength: m((n) =>
      assert(
        (actual as { length?: unknown })?.length === n,
        `${show(actual)} to have length ${show(n)}`,
      ),
    ),
    toHaveProperty: m((path, ...value) => {
      const keys = Array.isArray(path) ? path : String(path).split(".");
      let cur: unknown = actual;
      let found = true;
      for (const k of keys) {
        if (cur !== null && cur !== undefined && Object.hasOwn(Object(cur), k as PropertyKey)) {
          cur = (cur as Record<string, unknown>)[k as string];
        } else {
          found = false;
          break;
        }
      }
      assert(
        found && (value.length === 0 || equals(cur, value[0], false)),
        `${show(actual)} to have property ${String(path)}`,
      );
    }),
    toMatchObject: m((e) =>
      assert(matchesObject(actual, e), `${show(actual)} to match object ${show(e)}`),
    ),
    toThrow: m((e) => {
      let threw = false;
      let error: unknown;
      if (typeof actual === "function") {
        try {
          (actual as () => unknown)();
        } catch (err) {
          threw = true;
          error = err;
        }
      } else {
        // From `rejects`: the rejection reason itself.
        threw = true;
        error = actual;
      }
      assert(
        threw && thrownMatches(error, e),
        `to throw ${e === undefined ? "" : show(String(e))}`,
      );
    }),
  };
}

type Expectation = Matchers & {
  readonly not: Matchers;
  readonly resolves: Matchers;
  readonly rejects: Matchers;
};

export function expect(actual: unknown): Expectation {
  const sync = (check: () => void) => {
    check();
    return undefined;
  };
  const settle = (rejected: boolean, negate: boolean): Matchers =>
    new Proxy({} as Matchers, {
      get: (_t, prop: string) => {
        if (prop === "not") return settle(rejected, !negate);
        return async (...args: unknown[]) => {
          let value: unknown;
          let didReject = false;
          try {
            value = await actual;
          } catch (e) {
            value = e;
            didReject = true;
          }
          if (didReject !== rejected) {
            throw new Error(
              rejected
                ? `expected a rejection, got ${show(value)}`
                : `expected a value, got a rejection: ${String(value)}`,
            );
          }
          const target = (matchers(value, negate, sync) as Record<string, Matcher | undefined>)[
            prop
          ];
          if (!target) throw new Error(`bun-test-shim: no matcher ${prop}`);
          return target(...args);
        };
      },
    });
  return Object.assign(matchers(actual, false, sync), {
    not: matchers(actual, true, sync),
    resolves: settle(false, false),
    rejects: settle(true, false),
  }) as unknown as Expectation;
}
