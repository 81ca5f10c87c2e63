// The get-miss-then-set pattern against invalidations (issue 13, defects 1-4): a set after a
// miss and an invalidation is refused however many misses are outstanding, however busy the
// instance is, for the sync pair too; a resolve that starts after an invalidation never joins
// a load that started before it.
import { describe, expect, test } from "bun:test";
import { type AuthCache, createAuthCache, silentLogger } from "../src/index.ts";
import { ManualBus, MapStore } from "./support/map-store.ts";

const MAX_STALE_MS = 1_000;

function pair() {
  const clock = { t: 1_000_000 };
  const store = new MapStore(() => clock.t);
  const bus = new ManualBus();
  const opts = { store, bus, logger: silentLogger, now: () => clock.t, maxStaleMs: MAX_STALE_MS };
  const a = createAuthCache(opts);
  const b = createAuthCache(opts);
  bus.confirm(clock.t);
  /** Moves past the bound, every follower confirming it is caught up. */
  const later = (ms = MAX_STALE_MS + 1) => {
    clock.t += ms;
    bus.confirm(clock.t);
  };
  const fresh = () => {
    const c = createAuthCache(opts);
    bus.confirm(clock.t);
    return c;
  };
  return {
    clock,
    store,
    bus,
    a,
    b,
    later,
    fresh,
    close: () => Promise.all([a.close(), b.close()]),
  };
}

describe("get miss, invalidation, set", () => {
  test("two misses of one role, an invalidation through another instance, two sets: both refused", async () => {
    const { a, b, later, fresh, close } = pair();
    expect(await Promise.all([a.getUserRole("u@x", "t"), a.getUserRole("u@x", "t")])).toEqual([
      undefined,
      undefined,
    ]);
    await b.invalidateUserRole("u@x", "t");
    await a.setUserRole("u@x", "t", "admin");
    await a.setUserRole("u@x", "t", "admin");
    later();
    expect(await a.getUserRole("u@x", "t")).toBeUndefined();
    expect(await b.getUserRole("u@x", "t")).toBeUndefined();
    const c = fresh();
    expect(await c.getUserRole("u@x", "t")).toBeUndefined();
    expect(a.stats().staleFillsRejected).toBe(2);
    await c.close();
    await close();
  });

  test("a miss after the invalidation does not let a set of the earlier miss through, in either order", async () => {
    for (const order of ["fresh first", "stale first"]) {
      const { a, b, later, close } = pair();
      expect(await a.getUser("u@x")).toBeUndefined(); // request 1 loads { v: "old" }
      await b.invalidateUser("u@x");
      expect(await a.getUser("u@x")).toBeUndefined(); // request 2 loads { v: "new" }
      const sets = [() => a.setUser("u@x", { v: "new" }), () => a.setUser("u@x", { v: "old" })];
      if (order === "stale first") sets.reverse();
      for (const s of sets) await s();
      later();
      expect(await a.getUser("u@x")).toBeUndefined();
      expect(await b.getUser("u@x")).toBeUndefined();
      await close();
    }
  });

  test("an invalidation the instance has not heard yet: L2's fence refuses the first set, the second is refused here", async () => {
    const { a, b, bus, later, close } = pair();
    const followerOfA = bus.followers[0];
    if (followerOfA === undefined) throw new Error("a follows the bus");
    await a.getAuthContext("u@x", "j1");
    await a.getAuthContext("u@x", "j1");
    followerOfA.held = true; // a does not hear b yet
    await b.invalidateUser("u@x");
    const ctx = { user: { v: "old" }, personalTeamId: "p", isTokenRevoked: false };
    await a.setAuthContext("u@x", "j1", ctx);
    await a.setAuthContext("u@x", "j1", ctx);
    expect(await b.getAuthContext("u@x", "j1")).toBeUndefined();
    followerOfA.held = false;
    for (const m of followerOfA.queue.splice(0)) followerOfA.handlers.message(m);
    later();
    expect(await a.getAuthContext("u@x", "j1")).toBeUndefined();
    expect(a.stats().staleFillsRejected).toBe(2);
    await close();
  });

  test("the misses are kept for 30 s, not consumed: after that a get-then-set is cached again", async () => {
    const { a, b, later, close } = pair();
    await a.getUserTeams("u@x", true);
    await a.setUserTeams("u@x", true, ["t1"]); // no invalidation in between: cached
    expect(await b.getUserTeams("u@x", true)).toEqual(["t1"]);
    await b.invalidateUserTeams("u@x");
    // The first miss is still kept: a set now cannot be told apart from one of its loads.
    expect(await a.getUserTeams("u@x", true)).toBeUndefined();
    await a.setUserTeams("u@x", true, ["t2"]);
    expect(await b.getUserTeams("u@x", true)).toBeUndefined();
    later(30_001);
    expect(await a.getUserTeams("u@x", true)).toBeUndefined();
    await a.setUserTeams("u@x", true, ["t2"]);
    expect(await a.getUserTeams("u@x", true)).toEqual(["t2"]);
    expect(await b.getUserTeams("u@x", true)).toEqual(["t2"]);
    await close();
  });

  test("a getAuthContextSync miss is kept too: setAuthContext after it and an invalidation is refused", async () => {
    const { a, b, later, fresh, close } = pair();
    expect(a.getAuthContextSync("u@x", "j1")).toBeUndefined();
    await b.invalidateAll();
    const ctx = { user: { v: "old" }, personalTeamId: "p", isTokenRevoked: false };
    await a.setAuthContext("u@x", "j1", ctx);
    later();
    expect(await a.getAuthContext("u@x", "j1")).toBeUndefined();
    const c = fresh();
    expect(await c.getAuthContext("u@x", "j1")).toBeUndefined();
    await c.close();
    await close();
  });

  test("a set still running when its cache closes is judged by the kept misses", async () => {
    const { a, b, later, close } = pair();
    expect(await a.getUser("u@x")).toBeUndefined(); // the request loads { v: "old" } ...
    await b.invalidateUser("u@x");
    await a.close(); // ... the cache closes meanwhile ...
    await a.setUser("u@x", { v: "old" }); // ... and the request sets what it loaded
    later();
    expect(await b.getUser("u@x")).toBeUndefined();
    await close();
  });

  test("a set with no miss kept is fenced from the moment it starts only", async () => {
    const { a, b, later, close } = pair();
    await b.invalidateUser("u@x");
    // The cache cannot know this value was read before the invalidation: it is cached.
    await a.setUser("u@x", { v: "read before" });
    later();
    expect(await b.getUser("u@x")).toEqual({ v: "read before" });
    await close();
  });
});

describe("misses beyond the bound", () => {
  test("a miss dropped by 1 100 other misses still refuses the stale set (counted)", async () => {
    const { a, b, later, fresh, close } = pair();
    expect(await a.getUserRole("u@x", "t")).toBeUndefined();
    for (let i = 0; i < 1_100; i++) await a.getUserRole(`other${i}@x`, "t");
    await b.invalidateUserRole("u@x", "t");
    await a.setUserRole("u@x", "t", "admin");
    later();
    expect(await a.getUserRole("u@x", "t")).toBeUndefined();
    expect(await b.getUserRole("u@x", "t")).toBeUndefined();
    const c = fresh();
    expect(await c.getUserRole("u@x", "t")).toBeUndefined();
    expect(a.stats().untrackedSetsRejected).toBe(1);
    expect(a.stats().staleFillsRejected).toBe(1);
    await c.close();
    await close();
  });

  test("with no invalidation since the drop, the set is cached in L1 only (its fences are lost)", async () => {
    const { a, b, close } = pair();
    expect(await a.getUserRole("u@x", "t")).toBeUndefined();
    for (let i = 0; i < 1_100; i++) await a.getUserRole(`other${i}@x`, "t");
    await a.setUserRole("u@x", "t", "admin");
    expect(await a.getUserRole("u@x", "t")).toBe("admin");
    expect(await b.getUserRole("u@x", "t")).toBeUndefined();
    expect(a.stats().untrackedSetsRejected).toBe(0);
    // An invalidation drops it from L1 as usual.
    await b.invalidateUserRole("u@x", "t");
    expect(await a.getUserRole("u@x", "t")).toBeUndefined();
    await close();
  });

  test("a dropped miss followed by a new miss of the same entry: the set is still refused", async () => {
    const { a, b, later, close } = pair();
    expect(await a.getUser("u@x")).toBeUndefined();
    for (let i = 0; i < 1_100; i++) await a.getUser(`other${i}@x`);
    await b.invalidateUser("u@x");
    expect(await a.getUser("u@x")).toBeUndefined(); // a new record for the entry
    await a.setUser("u@x", { v: "loaded before the invalidation" });
    later();
    expect(await a.getUser("u@x")).toBeUndefined();
    expect(await b.getUser("u@x")).toBeUndefined();
    await close();
  });
});

describe("the sync pair", () => {
  test("getTeamMembershipValidSync miss, an invalidation, setTeamMembershipValidSync: refused", async () => {
    const { a, b, later, close } = pair();
    expect(a.getTeamMembershipValidSync("u@x", ["t"])).toBeUndefined();
    await b.invalidateTeamMembership("u@x");
    a.setTeamMembershipValidSync("u@x", ["t"], true);
    later();
    expect(a.getTeamMembershipValidSync("u@x", ["t"])).toBeUndefined();
    expect(a.stats().staleFillsRejected).toBe(1);
    await close();
  });

  test("without store or bus too, and the async get's miss counts for the sync set", async () => {
    const clock = { t: 0 };
    const c: AuthCache = createAuthCache({ logger: silentLogger, now: () => clock.t });
    expect(c.getTeamMembershipValidSync("u@x", ["t"])).toBeUndefined();
    await c.invalidateTeam("u@x");
    c.setTeamMembershipValidSync("u@x", ["t"], true);
    clock.t += 1_001;
    expect(c.getTeamMembershipValidSync("u@x", ["t"])).toBeUndefined();
    expect(await c.getTeamMembershipValid("v@x", ["t"])).toBeUndefined();
    await c.invalidateUser("v@x");
    c.setTeamMembershipValidSync("v@x", ["t"], false);
    expect(c.getTeamMembershipValidSync("v@x", ["t"])).toBeUndefined();
    // With no invalidation between, the pair caches.
    c.setTeamMembershipValidSync("w@x", ["t"], true);
    expect(c.getTeamMembershipValidSync("w@x", ["t"])).toBe(true);
    await c.close();
  });
});

describe("singleflight across an invalidation", () => {
  test("a resolveUser that starts after an applied invalidation does not join the earlier load", async () => {
    const { a, b, later, close } = pair();
    let release: (v: { v: string }) => void = () => {};
    let loads = 0;
    const early = a.resolveUser("u@x", () => {
      loads++;
      return new Promise<{ v: string }>((r) => {
        release = r;
      });
    });
    await b.invalidateUser("u@x");
    later();
    const late = a.resolveUser("u@x", async () => {
      loads++;
      return { v: "new" };
    });
    release({ v: "old" });
    expect(await early).toEqual({ v: "old" }); // the early caller gets its load's result ...
    expect(await late).toEqual({ v: "new" }); // ... a later one starts its own load
    expect(loads).toBe(2);
    expect(await a.getUser("u@x")).toEqual({ v: "new" });
    expect(await b.getUser("u@x")).toEqual({ v: "new" });
    expect(a.stats().staleFillsRejected).toBe(1); // the early load was not cached
    await close();
  });

  test("an instance that stopped hearing the log does not join a load older than maxStaleMs", async () => {
    const { clock, a, b, bus, close } = pair();
    const followerOfA = bus.followers[0];
    if (followerOfA === undefined) throw new Error("a follows the bus");
    followerOfA.held = true; // deaf: hears nothing, confirms nothing
    let release: (v: string | null) => void = () => {};
    let loads = 0;
    const early = a.resolveUserRole("u@x", "t", () => {
      loads++;
      return new Promise<string | null>((r) => {
        release = r;
      });
    });
    await b.invalidateUserRole("u@x", "t"); // a does not hear it
    clock.t += 500;
    const within = a.resolveUserRole("u@x", "t", async () => "unused");
    clock.t += 501; // the first load is now older than maxStaleMs
    const late = a.resolveUserRole("u@x", "t", async () => {
      loads++;
      return null;
    });
    release("admin");
    expect(await early).toBe("admin");
    expect(await within).toBe("admin"); // joined: that load is within the bound for this read
    expect(await late).toBeNull();
    expect(loads).toBe(2);
    await close();
  });

  test("callers that join before the invalidation share the load; an unrelated invalidation detaches nothing", async () => {
    const { a, b, close } = pair();
    let release: (v: string) => void = () => {};
    let loads = 0;
    const loader = () => {
      loads++;
      return new Promise<string>((r) => {
        release = r;
      });
    };
    const first = a.resolveUserRole("u@x", "t", loader);
    const second = a.resolveUserRole("u@x", "t", loader);
    await b.invalidateTeamRoles("other-team");
    await b.invalidateUser("someone-else@x");
    await b.invalidateRevocation("j-other");
    const third = a.resolveUserRole("u@x", "t", loader);
    release("admin");
    expect(await Promise.all([first, second, third])).toEqual(["admin", "admin", "admin"]);
    expect(loads).toBe(1);
    expect(await b.getUserRole("u@x", "t")).toBe("admin");
    await close();
  });
});
