import { describe } from "bun:test";
import { runBusSuite, runStoreSuite } from "@authcache/conformance";
import { backends, bunRunner, busSuite, storeSuite } from "./helpers.ts";

// The shared suite against real servers: Valkey 8 and Redis 7, standalone and 3-master cluster.
for (const [kind, topology] of backends) {
  describe(`${kind} ${topology} store`, () => runStoreSuite(storeSuite(kind, topology, bunRunner)));
  describe(`${kind} ${topology} bus`, () => runBusSuite(busSuite(kind, topology, bunRunner)));
}
