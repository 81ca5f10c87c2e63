// node --test: the conformance suite against the built dist, on Node 20.
import { after, before, test } from "node:test";
import { runBusSuite, runStoreSuite } from "@authcache/conformance";
import { backends, busSuite, storeSuite } from "../suites.js";

const runner = {
  test: (name, fn, timeoutMs) => test(name, { timeout: timeoutMs }, fn),
  skipTest: (name, reason) => test(name, { skip: reason }, () => {}),
  beforeAll: (fn) => before(fn, { timeout: 60_000 }),
  afterAll: (fn) => after(fn, { timeout: 60_000 }),
};

// One backend per run keeps Node's process within the time and memory of the Bun run: the
// standalone Valkey server (the other three are covered by bun test).
const [kind, topology] = backends[0];
runStoreSuite(storeSuite(kind, topology, runner));
runBusSuite(busSuite(kind, topology, runner));
