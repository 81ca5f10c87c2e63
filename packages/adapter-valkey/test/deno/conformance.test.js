// deno test: the conformance suite against the built dist. Deno.test has no suite hooks or
// per-test timeouts: the suite runs setup lazily and cleanup as a last test.
import { runBusSuite, runStoreSuite } from "@authcache/conformance";
import { backends, busSuite, storeSuite } from "../suites.js";

// Sanitizers off: the backend (server processes, watchdogs, an admin client) lives across the
// tests of a suite and is stopped by the cleanup test, not inside each test.
const runner = {
  test: (name, fn) => Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false }),
  skipTest: (name) => Deno.test({ name, ignore: true, fn: () => {} }),
};

const [kind, topology] = backends[0];
runStoreSuite(storeSuite(kind, topology, runner));
runBusSuite(busSuite(kind, topology, runner));
