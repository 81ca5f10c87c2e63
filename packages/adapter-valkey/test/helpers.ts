import { afterAll, beforeAll, test } from "bun:test";

export {
  adminClient,
  type Backend,
  backends,
  busSuite,
  killConnections,
  startBackend,
  storeSuite,
  type Topology,
} from "./suites.js";

/** The runner hooks of bun:test, for the conformance suites. */
export const bunRunner = {
  test: (name: string, fn: () => Promise<void>, timeoutMs: number) => test(name, fn, timeoutMs),
  skipTest: (name: string, _reason: string) => test.skip(name, () => {}),
  beforeAll: (fn: () => Promise<void>) => beforeAll(fn, 60_000),
  afterAll: (fn: () => Promise<void>) => afterAll(fn, 60_000),
};
