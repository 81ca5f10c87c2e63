/**
 * Bounded staleness on libSQL: three caches in two processes share one database file (their L2
 * and their change-log) while a process is killed in the middle of its writes (and replaced),
 * another process holds the database's write lock, and an operator deletes the change-log
 * table (twice: its rows, then the table). Every read is checked against the ground truth; no
 * read may fail. `make soak` repeats the schedule for AUTHCACHE_SOAK_SECONDS.
 */
import { afterAll, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Instance } from "../support/fleet.ts";
import {
  calm,
  deafButConfirming,
  expectNoStaleReads,
  type Fault,
  type FaultControl,
  runStalenessScenario,
  soak,
  soakTimeout,
} from "../support/staleness-scenario.ts";

const MAX_STALE_MS = 1000;
const SEED = Number(process.env.AUTHCACHE_CHAOS_SEED ?? 20_260_101) + 31;
const dir = mkdtempSync(join(tmpdir(), "authcache-chaos-libsql-"));
const fleet: Instance[] = [];
afterAll(async () => {
  for (const inst of fleet) await inst.close().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

const FAULT = join(import.meta.dir, "../support/sqlite-fault.ts");

/** Runs `sqlite-fault.ts` in its own process; resolves once it printed `until`, and returns
 *  its exit (which must be 0 with "done" printed). */
async function sqliteFault(args: string[], until: string): Promise<{ exited: Promise<void> }> {
  const child = spawn(process.execPath, [FAULT, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  let reached: () => void = () => {};
  const seen = new Promise<void>((resolve) => {
    reached = resolve;
  });
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
    if (out.includes(until)) reached();
  });
  const exited = new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => {
      if (code === 0 && out.includes("done")) resolve();
      else reject(new Error(`sqlite-fault ${args.join(" ")} exited with ${code}: ${out}`));
    });
  });
  await Promise.race([seen, exited]);
  return { exited };
}

/** Another process holding the database's write lock (`BEGIN IMMEDIATE`) for `holdMs`. */
function lockDatabase(path: string, ctl: FaultControl, holdMs: number): Fault {
  let exited: Promise<void> | undefined;
  const label = `database write-locked by another process for ${holdMs} ms`;
  return {
    label,
    async run() {
      ctl.mark(label, "start");
      ctl.count("locks");
      ({ exited } = await sqliteFault([path, "lock", String(holdMs)], "locked"));
    },
    holdMs,
    async undo() {
      await exited;
    },
  };
}

/** An operator (another process) empties (`rows`) or drops (`table`) the change-log. */
function deleteChangeLog(path: string, ctl: FaultControl, how: "rows" | "table"): Fault {
  const label = how === "rows" ? "change-log rows deleted" : "change-log table dropped";
  return {
    label,
    async run() {
      ctl.mark(label, "start");
      ctl.count("change-log deletions");
      await (await sqliteFault([path, how], "done")).exited;
    },
    holdMs: 1500,
  };
}

const schedule = (path: string, ctl: FaultControl): Fault[] => [
  calm(800),
  {
    label: "process killed mid-write",
    run: () => ctl.killWorkerMidWrite(),
    holdMs: 1500,
  },
  lockDatabase(path, ctl, 1200),
  calm(1000),
  deleteChangeLog(path, ctl, "rows"),
  deleteChangeLog(path, ctl, "table"),
  {
    label: "process killed mid-write",
    run: () => ctl.killWorkerMidWrite(),
    holdMs: 1000,
  },
  lockDatabase(path, ctl, 400),
  calm(1000),
];

test(
  "libSQL: three caches in two processes on one file serve nothing staler than maxStaleMs through a process killed mid-write, a locked database and a deleted change-log",
  async () => {
    const path = join(dir, "chaos.db");
    const result = await runStalenessScenario({
      libsqlUrl: `file:${path}`,
      seed: SEED,
      maxStaleMs: MAX_STALE_MS,
      namespace: "chaos-libsql",
      adapter: "libsql",
      local: 2,
      workers: 1,
      fleet,
      faults: (ctl) => soak(() => schedule(path, ctl)),
    });
    expectNoStaleReads(result, "libsql chaos summary");
    expect(new Set(fleet.map((i) => i.pid)).size).toBe(2);
    expect(result.otherFaults["process kills"]).toBeGreaterThanOrEqual(2);
    expect(result.otherFaults.locks).toBeGreaterThanOrEqual(2);
    expect(result.otherFaults["change-log deletions"]).toBeGreaterThanOrEqual(2);
    expect(result.report.checked).toBeGreaterThan(1000);
    expect(result.sum("l1Hits")).toBeGreaterThan(0);
    expect(result.sum("l2Hits")).toBeGreaterThan(0);
    expect(result.sum("busResets")).toBeGreaterThan(0);
  },
  soakTimeout(90_000),
);

test("the libSQL run catches a cache that ignores the change-log", async () => {
  const broken: Instance[] = [];
  try {
    const result = await runStalenessScenario({
      libsqlUrl: `file:${join(dir, "deaf.db")}`,
      seed: SEED + 1,
      maxStaleMs: MAX_STALE_MS,
      namespace: "deaf-libsql",
      adapter: "libsql",
      local: 2,
      workers: 0,
      fleet: broken,
      wrapBus: (index, bus) => (index === 1 ? deafButConfirming(bus) : bus),
      faults: () => [calm(3000)],
    });
    console.log(`deaf-instance check on libSQL (must find stale reads): ${result.summary}`);
    expect(result.report.stale.length).toBeGreaterThan(0);
    expect(result.report.stale.every((s) => s.read.instance === "B")).toBe(true);
  } finally {
    for (const inst of broken) await inst.close().catch(() => {});
  }
}, 30_000);
