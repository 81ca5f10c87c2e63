import { describe } from "bun:test";
import { runBusSuite, runStoreSuite } from "@authcache/conformance";
import { busSuite, storeSuite } from "./helpers.ts";

// The shared suite against real servers: Valkey 8 and Redis 7, standalone and 3-master cluster.
for (const kind of ["valkey", "redis"] as const) {
  for (const topology of ["standalone", "cluster"] as const) {
    describe(`${kind} ${topology} store`, () => runStoreSuite(storeSuite(kind, topology)));
    describe(`${kind} ${topology} bus`, () => runBusSuite(busSuite(kind, topology)));
  }
}
