// Concurrent reads share pipelines (ReadBatcher) and take their replies back by position; several
// checks in one set are one ZMSCORE. Here thousands of concurrent reads, each a random mix of
// present and missing keys and of live, expired and absent members in several sets (in a
// cluster: keys and sets in many slots), are checked one by one against what was written.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { MemberCheck } from "@authcache/core/adapter";
import type { GlideClient, GlideClusterClient } from "@valkey/valkey-glide";
import { createValkeyStore, type ValkeyStore } from "../src/index.ts";
import { adminClient, type Backend, startBackend, type Topology } from "./helpers.ts";

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = 300;
const SETS = 4;
const MEMBERS = 60;

for (const topology of ["standalone", "cluster"] as const satisfies readonly Topology[]) {
  describe(`valkey ${topology}: concurrent reads sharing pipelines`, () => {
    let b: Backend;
    let store: ValkeyStore;
    let admin: GlideClient | GlideClusterClient;
    const value = (i: number) => `value-${i}-${"x".repeat(i % 50)}`;
    const set = (s: number) => `rb:set:{${s * 7}}`;
    // Member m of set s: live (deadline in an hour), expired (a minute ago) or absent.
    const state = (s: number, m: number): "live" | "expired" | "absent" =>
      (s + m) % 3 === 0 ? "live" : (s + m) % 3 === 1 ? "expired" : "absent";

    beforeAll(async () => {
      b = await startBackend("valkey", topology);
      store = createValkeyStore({
        addresses: b.addresses,
        cluster: b.cluster,
        readPipelines: 2, // few pipelines: most reads wait and leave together
      });
      admin = await adminClient(b);
      // Even keys exist; odd keys are never written (misses).
      for (let i = 0; i < KEYS; i += 2) await admin.set(`rb:key:${i}`, value(i));
      const now = Date.now();
      for (let s = 0; s < SETS; s++) {
        for (let m = 0; m < MEMBERS; m++) {
          const st = state(s, m);
          if (st === "absent") continue;
          await admin.zadd(set(s), [
            { element: `m${m}`, score: st === "live" ? now + 3_600_000 : now - 60_000 },
          ]);
        }
      }
    }, 60_000);

    afterAll(async () => {
      admin?.close();
      await store?.close();
      await b?.stop();
    }, 60_000);

    test("5 000 concurrent reads of random keys and member checks each get exactly their own answers", async () => {
      const next = random(topology === "standalone" ? 18 : 1818);
      const reads = Array.from({ length: 5000 }, () => {
        const keys = Array.from(
          { length: Math.floor(next() * 5) },
          () => `rb:key:${Math.floor(next() * KEYS)}`,
        );
        // Often several checks in one set (one ZMSCORE), sometimes mixed sets (ZSCOREs).
        const oneSet = next() < 0.5 ? Math.floor(next() * SETS) : undefined;
        const members: MemberCheck[] = Array.from({ length: Math.floor(next() * 4) }, () => ({
          set: set(oneSet ?? Math.floor(next() * SETS)),
          member: `m${Math.floor(next() * MEMBERS)}`,
        }));
        return { keys, members };
      });
      const results = await Promise.all(reads.map((r) => store.read(r.keys, r.members)));
      let checked = 0;
      reads.forEach((r, i) => {
        const got = results[i];
        const want = {
          values: r.keys.map((k) => {
            const n = Number(k.slice("rb:key:".length));
            return n % 2 === 0 ? value(n) : undefined;
          }),
          members: r.members.map((m) => {
            const s = [...Array(SETS).keys()].find((x) => set(x) === m.set) as number;
            return state(s, Number(m.member.slice(1))) === "live";
          }),
        };
        expect({ i, ...got }).toEqual({ i, ...want });
        checked += r.keys.length + r.members.length;
      });
      expect(checked).toBeGreaterThan(10_000);
      // The reads did share pipelines: nothing is left waiting or in flight.
      expect(store.inFlight.queued).toBe(0);
      expect(store.inFlight.active).toBe(0);
    }, 60_000);
  });
}
