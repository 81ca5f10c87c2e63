import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Batch, GlideClient, Logger } from "@valkey/valkey-glide";
import { createValkeyStore, type ValkeyStore } from "../src/index.ts";
import { type Backend, startBackend, type Topology } from "./helpers.ts";

const READS = 100_000;
const USERS = 1_000;

const ctxKey = (u: number) => `load:ctx:{u:${u}}:j${u}`;
const genKey = (u: number) => `load:gen:{u:${u}}`;

/** 100 000 context-style reads (entry, fence counter, gen:all, revoked-set check) issued at
 *  once, as a burst of L1 misses would: the store queues what glide's in-flight limit cannot
 *  take, so none fails. Figures are printed, never asserted as times. */
for (const topology of ["standalone", "cluster"] as Topology[]) {
  describe(`load on valkey ${topology}`, () => {
    let b: Backend;
    let store: ValkeyStore;
    beforeAll(async () => {
      b = await startBackend("valkey", topology);
      // The default requestTimeout (250 ms) is for production latency; this machine's two cores
      // are shared with three cluster nodes and other test runs, so a starved pipeline may
      // take longer. What this test checks is the in-flight limit, not latency.
      store = createValkeyStore({
        addresses: b.addresses,
        cluster: b.cluster,
        clientConfig: { requestTimeout: 5_000 },
      });
      const far = Date.now() + 3_600_000;
      await Promise.all(
        Array.from({ length: USERS }, (_, u) => store.set(ctxKey(u), `{"ctx":${u}}`, far)),
      );
      await store.incr("load:gen:all");
      await store.addMember("load:revoked", "j7", far);
    }, 60_000);
    afterAll(async () => {
      await store?.close();
      await b?.stop();
    }, 60_000);

    test(`${READS} concurrent store.read calls all complete, none rejected`, async () => {
      let failures = 0;
      let firstError: unknown;
      let peakQueued = 0;
      let peakActive = 0;
      let revoked = 0;
      let hits = 0;
      const started = performance.now();
      const reads: Promise<void>[] = [];
      for (let i = 0; i < READS; i++) {
        const u = i % USERS;
        reads.push(
          store
            .read(
              [ctxKey(u), genKey(u), "load:gen:all"],
              [{ set: "load:revoked", member: `j${u}` }],
            )
            .then(
              (r) => {
                if (r.values[0] !== undefined && r.values[2] === "1") hits++;
                if (r.members[0]) revoked++;
              },
              (err) => {
                failures++;
                firstError ??= err;
              },
            ),
        );
        if (i % 1000 === 0) {
          peakQueued = Math.max(peakQueued, store.inFlight.queued);
          peakActive = Math.max(peakActive, store.inFlight.active);
        }
      }
      peakQueued = Math.max(peakQueued, store.inFlight.queued);
      await Promise.all(reads);
      const elapsed = performance.now() - started;
      console.log(
        `[load valkey ${topology}] ${READS} reads in ${elapsed.toFixed(0)} ms ` +
          `(${Math.round(READS / (elapsed / 1000))} reads/s), failures ${failures}, ` +
          `peak in flight ${peakActive}/${store.inFlight.max}, peak queued ${peakQueued}`,
      );
      if (firstError) console.error(firstError);
      expect(failures).toBe(0);
      expect(hits).toBe(READS);
      expect(revoked).toBe(READS / USERS);
      expect(peakQueued).toBeGreaterThan(0); // the cap was actually reached and queued
      expect(store.inFlight.active).toBe(0);
      expect(store.inFlight.queued).toBe(0);
    }, 120_000);

    test("20 000 concurrent fenced writes (scripts, which glide counts double) all complete", async () => {
      const far = Date.now() + 3_600_000;
      let failures = 0;
      let firstError: unknown;
      let written = 0;
      const writes = Array.from({ length: 20_000 }, (_, i) =>
        store
          .setIfFence(
            `load:w:{u:${i % USERS}}:${i}`,
            "v",
            far,
            { key: genKey(i % USERS), value: 0 },
            [`load:own:{u:${i % USERS}}`],
          )
          .then(
            (ok) => {
              if (ok) written++;
            },
            (err) => {
              failures++;
              firstError ??= err;
            },
          ),
      );
      await Promise.all(writes);
      if (firstError) console.error(firstError);
      expect(failures).toBe(0);
      expect(written).toBe(20_000);
    }, 120_000);
  });
}

describe("the cap is what prevents the errors", () => {
  let b: Backend;
  beforeAll(async () => {
    b = await startBackend("valkey", "standalone");
  }, 60_000);
  afterAll(async () => {
    await b?.stop();
  });

  test("the same burst straight on a glide client is partly rejected", async () => {
    const client = await GlideClient.createClient({ addresses: b.addresses });
    // Each rejection is logged by glide at ERROR: 15 000 lines of expected noise.
    Logger.setLoggerConfig("off");
    try {
      let rejected = 0;
      const reads = Array.from({ length: 20_000 }, (_, i) => {
        const batch = new Batch(false);
        batch.get(ctxKey(i % USERS));
        batch.zscore("load:revoked", `j${i}`);
        return client.exec(batch, true).then(
          () => {},
          (err: unknown) => {
            if (String(err).includes("inflight")) rejected++;
          },
        );
      });
      await Promise.all(reads);
      console.log(`[load raw glide] 20000 pipelines, ${rejected} rejected by the in-flight limit`);
      expect(rejected).toBeGreaterThan(0);
    } finally {
      Logger.setLoggerConfig("error");
      client.close();
    }
  }, 60_000);
});
