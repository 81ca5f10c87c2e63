// deno test: the conformance suites against the built dist. Deno.test has no suite hooks or
// per-test timeouts: the suite runs setup lazily and cleanup as a last test.
import { createLibsqlBus, createLibsqlStore } from "@authcache/adapter-libsql";
import { runBusSuite, runStoreSuite } from "@authcache/conformance";
import { libsqlSuites } from "../suite-options.js";

const runner = {
  test: (name, fn) => Deno.test({ name, fn }),
  skipTest: (name) => Deno.test({ name, ignore: true, fn: () => {} }),
};

const suites = libsqlSuites({ createLibsqlStore, createLibsqlBus });
runStoreSuite({ ...runner, ...suites.memoryStore });
runBusSuite({ ...runner, ...suites.memoryBus });
runStoreSuite({ ...runner, ...suites.fileStore });
runBusSuite({ ...runner, ...suites.fileBus });
