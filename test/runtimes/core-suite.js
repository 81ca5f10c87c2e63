/**
 * Core's application-facing surface, written once and run by three runners with their own test
 * frameworks: `bun test` (core.test.ts), `node --test` (node/core.test.mjs) and `deno test`
 * (deno/core.test.js). Plain JavaScript with `node:assert`, which all three runtimes ship, so
 * Node 20 runs it without a TypeScript step; Node and Deno import the built `dist/` of
 * `@authcache/core` and `@authcache/adapter-memory`, as an application would.
 *
 * Every test builds its own fleet: two caches (A and B) sharing one memory store and one memory
 * bus log, as two processes of a gateway would share Redis. It covers each kind's set/get/
 * resolve, the shared L2, single-flight loads, fenced fills, every invalidation against every
 * kind on the instance that made it and on its peer (through the bus), revocation, errors that
 * name the argument, and `close()`.
 */
import assert from "node:assert/strict";

const EMAIL = "ada@example.com";
const JTI = "jti-ada-1";
const TEAM = "team-engines";
const USER = { id: "u-ada", email: EMAIL, name: "Ada", active: true };
const CONTEXT = { user: USER, personalTeamId: "team-ada", isTokenRevoked: false };
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * The kinds an application caches. `set` stores `value`; `get` reads it back (`isTokenRevoked`
 * answers `false` for a jti set "not revoked"); `resolve` (when the kind has one) reads or loads;
 * `invalidate` is the kind's own invalidation.
 */
const KINDS = [
  {
    name: "auth context",
    value: CONTEXT,
    loaded: { ...CONTEXT, personalTeamId: "team-ada-2" },
    set: (c, v) => c.setAuthContext(EMAIL, JTI, v),
    get: (c) => c.getAuthContext(EMAIL, JTI),
    resolve: (c, load) => c.resolveAuthContext(EMAIL, JTI, load),
    invalidate: (c) => c.invalidateUser(EMAIL),
  },
  {
    name: "user",
    value: USER,
    loaded: { ...USER, name: "Ada L." },
    set: (c, v) => c.setUser(EMAIL, v),
    get: (c) => c.getUser(EMAIL),
    resolve: (c, load) => c.resolveUser(EMAIL, load),
    invalidate: (c) => c.invalidateUser(EMAIL),
  },
  {
    name: "user role",
    value: "admin",
    loaded: "viewer",
    set: (c, v) => c.setUserRole(EMAIL, TEAM, v),
    get: (c) => c.getUserRole(EMAIL, TEAM),
    resolve: (c, load) => c.resolveUserRole(EMAIL, TEAM, load),
    invalidate: (c) => c.invalidateUserRole(EMAIL, TEAM),
  },
  {
    name: "user teams",
    value: ["team-ada", TEAM],
    loaded: [TEAM],
    set: (c, v) => c.setUserTeams(EMAIL, true, v),
    get: (c) => c.getUserTeams(EMAIL, true),
    resolve: (c, load) => c.resolveUserTeams(EMAIL, true, load),
    invalidate: (c) => c.invalidateUserTeams(EMAIL),
  },
  {
    name: "user team objects",
    value: [
      { id: "team-ada", name: "Ada" },
      { id: TEAM, name: "Engines", seats: 4 },
    ],
    loaded: [{ id: TEAM, name: "Engines", seats: 5 }],
    set: (c, v) => c.setUserTeamObjects(EMAIL, true, v),
    get: (c) => c.getUserTeamObjects(EMAIL, true),
    resolve: (c, load) => c.resolveUserTeamObjects(EMAIL, true, load),
    invalidate: (c) => c.invalidateUserTeams(EMAIL),
  },
  {
    name: "team membership",
    value: true,
    loaded: false,
    set: (c, v) => c.setTeamMembershipValid(EMAIL, [TEAM], v),
    get: (c) => c.getTeamMembershipValid(EMAIL, [TEAM]),
    resolve: (c, load) => c.resolveTeamMembershipValid(EMAIL, [TEAM], load),
    invalidate: (c) => c.invalidateTeamMembership(EMAIL),
  },
  {
    name: "not revoked",
    value: false,
    set: (c) => c.setNotRevoked(JTI),
    get: (c) => c.isTokenRevoked(JTI),
    invalidate: (c) => c.invalidateRevocation(JTI),
  },
];

/** Every invalidation an application calls, and the kinds (above) it must change. */
const INVALIDATIONS = [
  {
    name: "invalidateUser",
    run: (c) => c.invalidateUser(EMAIL),
    changes: [
      "auth context",
      "user",
      "user role",
      "user teams",
      "user team objects",
      "team membership",
    ],
  },
  {
    name: "invalidateTeam",
    run: (c) => c.invalidateTeam(EMAIL),
    changes: ["auth context", "user role", "user teams", "user team objects", "team membership"],
  },
  {
    name: "invalidateUserTeams",
    run: (c) => c.invalidateUserTeams(EMAIL),
    changes: ["user teams", "user team objects"],
  },
  {
    name: "invalidateTeamMembership",
    run: (c) => c.invalidateTeamMembership(EMAIL),
    changes: ["team membership"],
  },
  {
    name: "invalidateUserRole",
    run: (c) => c.invalidateUserRole(EMAIL, TEAM),
    changes: ["user role"],
  },
  { name: "invalidateTeamRoles", run: (c) => c.invalidateTeamRoles(TEAM), changes: ["user role"] },
  {
    name: "invalidateRevocation",
    run: (c) => c.invalidateRevocation(JTI, Date.now() + 60_000),
    changes: ["auth context", "not revoked"],
  },
  {
    name: "invalidateAll",
    run: (c) => c.invalidateAll(),
    // "Clears every kind": a "not revoked" answer too (then unknown: ask the database).
    changes: [
      "auth context",
      "user",
      "user role",
      "user teams",
      "user team objects",
      "team membership",
      "not revoked",
    ],
  },
];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` (bounded: 400 tries, 10 ms apart) and fails naming `what`. */
async function until(what, check) {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await sleep(10);
  }
  assert.fail(`timed out waiting until ${what}`);
}

/** A promise and the functions that settle it. */
function gate() {
  let open;
  let fail;
  const promise = new Promise((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

/**
 * Registers the suite. `runner.test(name, fn)` is the runtime's own test function;
 * `runScript(path)` runs a script in a new process of the same runtime and resolves with its
 * exit code and output.
 *
 * @param {{
 *   test(name: string, fn: () => Promise<void>): void,
 *   core: typeof import("@authcache/core"),
 *   memory: typeof import("@authcache/adapter-memory"),
 *   runScript(path: string): Promise<{ code: number | null, stdout: string, stderr: string }>,
 * }} runner
 */
export function defineCoreSuite({ test, core, memory, runScript }) {
  let fleets = 0;

  /** Two caches on one memory store and one bus log, both following the log. */
  async function openFleet(options = {}) {
    const store = memory.createMemoryStore();
    const bus = memory.createMemoryBus({ confirmIntervalMs: 20 });
    const busB = bus.connect();
    const common = {
      store,
      prefix: `surface${++fleets}:`,
      maxStaleMs: 500,
      logger: quiet,
      ...options,
    };
    const a = core.createAuthCache({ ...common, bus });
    const b = core.createAuthCache({ ...common, bus: busB });
    await until("both caches follow the bus and trust their L1", () =>
      [a, b].every((c) => c.stats().busState === "up" && c.stats().l1Trusted),
    );
    return {
      a,
      b,
      store,
      bus,
      async close() {
        await a.close();
        await b.close();
        await busB.close();
        await bus.close();
        await store.close();
      },
    };
  }

  const withFleet = (fn, options) => async () => {
    const fleet = await openFleet(options);
    try {
      await fn(fleet);
    } finally {
      await fleet.close();
    }
  };

  /** Waits until B applied `count` more log entries than it had at `before`. */
  const applied = (b, before, count = 1) =>
    until("B applied the invalidation from the log", () => b.stats().busMessages >= before + count);

  // ------------------------------------------------------------------ each kind

  for (const kind of KINDS) {
    test(
      `${kind.name}: set then get returns an equal, frozen copy`,
      withFleet(async ({ a }) => {
        assert.equal(await kind.get(a), undefined, "a miss is undefined");
        await kind.set(a, kind.value);
        const got = await kind.get(a);
        assert.deepEqual(got, kind.value);
        if (typeof got === "object" && got !== null) {
          assert.notEqual(got, kind.value, "not the caller's object");
          assert.ok(Object.isFrozen(got), "deep-frozen");
        }
      }),
    );

    test(
      `${kind.name}: a value set on A is read by B from the shared store`,
      withFleet(async ({ a, b }) => {
        await kind.set(a, kind.value);
        const before = b.stats().l2Hits;
        assert.deepEqual(await kind.get(b), kind.value);
        assert.ok(b.stats().l2Hits > before, "B's answer came from L2");
      }),
    );

    if (!kind.resolve) continue;

    test(
      `${kind.name}: resolve loads once on a miss, then answers without the loader`,
      withFleet(async ({ a, b }) => {
        let loads = 0;
        const load = async () => {
          loads++;
          return kind.loaded;
        };
        assert.deepEqual(await kind.resolve(a, load), kind.loaded);
        assert.deepEqual(await kind.resolve(a, load), kind.loaded);
        assert.deepEqual(await kind.resolve(b, load), kind.loaded, "B finds A's fill in L2");
        assert.equal(loads, 1);
      }),
    );

    test(
      `${kind.name}: concurrent resolves share one load`,
      withFleet(async ({ a }) => {
        let loads = 0;
        const release = gate();
        const load = async () => {
          loads++;
          await release.promise;
          return kind.loaded;
        };
        const pending = [kind.resolve(a, load), kind.resolve(a, load), kind.resolve(a, load)];
        await sleep(5);
        release.open();
        for (const result of await Promise.all(pending)) assert.deepEqual(result, kind.loaded);
        assert.equal(loads, 1);
      }),
    );

    test(
      `${kind.name}: a loader's error rejects resolve and caches nothing`,
      withFleet(async ({ a }) => {
        const failure = new Error("database down");
        await assert.rejects(
          kind.resolve(a, async () => {
            throw failure;
          }),
          (err) => err === failure,
        );
        assert.equal(await kind.get(a), undefined);
        assert.deepEqual(await kind.resolve(a, async () => kind.loaded), kind.loaded);
      }),
    );

    test(
      `${kind.name}: a fill whose load overlapped an invalidation is returned but not cached`,
      withFleet(async ({ a, b }) => {
        const release = gate();
        const started = gate();
        const pending = kind.resolve(a, async () => {
          started.open();
          await release.promise;
          return kind.loaded;
        });
        await started.promise;
        const before = a.stats().busMessages;
        await kind.invalidate(b);
        await until("A applied B's invalidation", () => a.stats().busMessages > before);
        release.open();
        assert.deepEqual(await pending, kind.loaded, "the caller still gets its load");
        assert.equal(await kind.get(a), undefined, "A cached nothing");
        assert.equal(await kind.get(b), undefined, "nothing reached L2");
        assert.ok(a.stats().staleFillsRejected >= 1);
      }),
    );
  }

  // ------------------------------------------- every invalidation against every kind

  for (const inv of INVALIDATIONS) {
    for (const kind of KINDS) {
      const changes = inv.changes.includes(kind.name);
      const verb = changes ? "drops" : "keeps";
      for (const side of ["A (here)", "B (through the bus)"]) {
        test(
          `${inv.name} ${verb} ${kind.name} on ${side}`,
          withFleet(async ({ a, b }) => {
            for (const k of KINDS) await k.set(a, k.value);
            // B reads everything once: from L2 into its own L1.
            for (const k of KINDS) assert.deepEqual(await k.get(b), k.value, `B reads ${k.name}`);
            const before = b.stats().busMessages;
            await inv.run(a);
            const peer = !side.startsWith("A");
            if (peer) await applied(b, before);
            const reader = peer ? b : a;
            const got = await kind.get(reader);
            if (changes) assert.notDeepEqual(got, kind.value, `${kind.name} is gone`);
            else assert.deepEqual(got, kind.value, `${kind.name} is kept`);
          }),
        );
      }
    }
  }

  // ------------------------------------------------------------------ revocation

  test(
    "revocation: a revoked jti's context reads as revoked on the peer",
    withFleet(async ({ a, b }) => {
      await a.setAuthContext(EMAIL, JTI, CONTEXT);
      assert.deepEqual(await b.getAuthContext(EMAIL, JTI), CONTEXT);
      const before = b.stats().busMessages;
      await a.invalidateRevocation(JTI, Date.now() + 60_000);
      await applied(b, before);
      assert.equal((await b.getAuthContext(EMAIL, JTI))?.isTokenRevoked ?? true, true);
      assert.equal(await b.isTokenRevoked(JTI), true);
      assert.equal(b.getAuthContextSync(EMAIL, JTI)?.isTokenRevoked ?? true, true);
    }),
  );

  test(
    "revocation: an unknown jti is undefined (ask the database), never false",
    withFleet(async ({ a }) => {
      assert.equal(await a.isTokenRevoked("jti-never-seen"), undefined);
    }),
  );

  test(
    "revocation: setNotRevoked never outvotes a revocation",
    withFleet(async ({ a, b }) => {
      await a.invalidateRevocation(JTI, Date.now() + 60_000);
      await b.setNotRevoked(JTI);
      await a.setNotRevoked(JTI);
      assert.equal(await a.isTokenRevoked(JTI), true);
      assert.equal(await b.isTokenRevoked(JTI), true);
    }),
  );

  test(
    "revocation: invalidateAll keeps confirmed revocations, here and on the peer",
    withFleet(async ({ a, b }) => {
      let before = b.stats().busMessages;
      await a.invalidateRevocation(JTI, Date.now() + 60_000);
      await applied(b, before);
      before = b.stats().busMessages;
      await b.invalidateAll();
      await until("A applied B's invalidateAll", () => a.stats().busMessages >= before + 1);
      assert.equal(await a.isTokenRevoked(JTI), true);
      assert.equal(await b.isTokenRevoked(JTI), true);
    }),
  );

  test(
    "revocation: syncRevokedTokens loads every jti here and on the peer",
    withFleet(async ({ a, b }) => {
      const jtis = Array.from({ length: 50 }, (_, i) => `sync-${i}`);
      const before = b.stats().busMessages;
      const loaded = await a.syncRevokedTokens(async function* () {
        for (const jti of jtis) yield { jti, expiresAt: Date.now() + 60_000 };
      });
      assert.equal(loaded, jtis.length);
      await applied(b, before);
      for (const jti of jtis) {
        assert.equal(await a.isTokenRevoked(jti), true, jti);
        assert.equal(await b.isTokenRevoked(jti), true, jti);
      }
    }),
  );

  // ------------------------------------------------------------------ errors

  test("errors: an invalid option is a RangeError naming it", async () => {
    assert.throws(
      () => core.createAuthCache({ maxStaleMs: -1, logger: quiet }),
      (err) => err instanceof RangeError && /maxStaleMs/.test(err.message),
    );
  });

  test(
    "errors: a wrong argument is a TypeError naming it, and nothing is stored",
    withFleet(async ({ a }) => {
      await assert.rejects(
        a.setUser(42, USER),
        (err) => err instanceof TypeError && /email/.test(err.message),
      );
      await assert.rejects(
        a.resolveUser(EMAIL, "not a function"),
        (err) => err instanceof TypeError && /loader/.test(err.message),
      );
      await assert.rejects(
        a.setUserTeams(EMAIL, "yes", []),
        (err) => err instanceof TypeError && /includePersonal/.test(err.message),
      );
      assert.equal(await a.getUser(EMAIL), undefined);
    }),
  );

  test(
    "errors: an invalidation the bus cannot publish rejects with a named InvalidationError",
    withFleet(async ({ a, bus }) => {
      await a.setUser(EMAIL, USER);
      await bus.close();
      const err = await a.invalidateUser(EMAIL).then(
        () => assert.fail("invalidateUser resolved with the bus closed"),
        (e) => e,
      );
      assert.ok(err instanceof core.InvalidationError);
      assert.ok(err instanceof core.AuthCacheError);
      assert.equal(err.name, "InvalidationError");
      assert.ok(err.cause instanceof core.BusError, `cause: ${err.cause}`);
      assert.equal(err.cause.name, "BusError");
      assert.equal(await a.getUser(EMAIL), undefined, "applied here all the same");
    }),
  );

  test("errors: every exported error class carries its own name", async () => {
    for (const name of ["AuthCacheError", "StoreError", "BusError", "InvalidationError"]) {
      assert.equal(typeof core[name], "function", name);
      assert.equal(core[name].name, name);
    }
    const timeout = new core.TimeoutError(250);
    assert.equal(timeout.name, "TimeoutError");
    assert.ok(timeout instanceof core.AuthCacheError);
    const open = new core.CircuitOpenError("store");
    assert.equal(open.name, "CircuitOpenError");
  });

  // ------------------------------------------------------------------ lifecycle

  test("a disabled cache stores nothing and always calls the loader", async () => {
    const cache = core.createAuthCache({ enabled: false, logger: quiet });
    let loads = 0;
    const load = async () => {
      loads++;
      return USER;
    };
    await cache.setUser(EMAIL, USER);
    assert.equal(await cache.getUser(EMAIL), undefined);
    assert.deepEqual(await cache.resolveUser(EMAIL, load), USER);
    assert.deepEqual(await cache.resolveUser(EMAIL, load), USER);
    assert.equal(loads, 2);
    await cache.close();
  });

  test(
    "close() stops following the bus: the peer's later invalidations are not applied",
    withFleet(async ({ a, b }) => {
      await a.close();
      const before = a.stats().busMessages;
      const heard = b.stats().busMessages;
      await a.invalidateUser(EMAIL).catch(() => {});
      await b.invalidateUser(EMAIL);
      await b.invalidateAll();
      // B follows the same log: once it heard its own two entries, A would have too.
      await until("B applied its own entries", () => b.stats().busMessages >= heard + 2);
      await sleep(50);
      assert.equal(a.stats().busMessages, before);
    }),
  );

  test("close() lets the process exit by itself", async () => {
    const script = new URL("./exit-after-close.mjs", import.meta.url);
    const { code, stdout, stderr } = await runScript(decodeURIComponent(script.pathname));
    assert.equal(code, 0, `exit code ${code}; stderr: ${stderr}`);
    assert.match(stdout, /^closed after \d+ applied entries$/m, stdout);
  });
}
