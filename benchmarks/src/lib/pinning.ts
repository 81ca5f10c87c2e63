import { execFileSync } from "node:child_process";
import { availableParallelism } from "node:os";
import type { PinInfo, PinMode } from "./types.ts";

/**
 * Loopback round trips on a 2-vCPU VM take ~13 µs when client and server share a CPU and
 * ~85 µs when they do not, and unpinned runs flip between the two. So by default ("split") the
 * benchmark process runs on CPU 0 and every server on CPU 1: stable, pessimistic, closer to a
 * server on another host. AUTHCACHE_BENCH_PIN=same|none picks the other modes.
 */
const BENCH_CPU = 0;
const SERVER_CPU = 1;

function taskset(args: string[]): boolean {
  try {
    execFileSync("taskset", args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function hasTaskset(): boolean {
  try {
    execFileSync("taskset", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Decides the mode and pins this process (all its threads) accordingly. */
export function pinSelf(requested?: string): PinInfo {
  const want = (requested ?? process.env.AUTHCACHE_BENCH_PIN ?? "split") as PinMode;
  if (want !== "split" && want !== "same" && want !== "none") {
    throw new Error(`benchmarks: AUTHCACHE_BENCH_PIN must be split, same or none (got "${want}")`);
  }
  if (want === "none") return { mode: "none" };
  if (!hasTaskset()) {
    return { mode: "none", note: `taskset not found (install util-linux); ran unpinned` };
  }
  const cpus = availableParallelism();
  if (want === "split" && cpus < 2) {
    return { mode: "none", note: `only ${cpus} CPU; split pinning needs 2; ran unpinned` };
  }
  if (!taskset(["-a", "-p", "-c", String(BENCH_CPU), String(process.pid)])) {
    return { mode: "none", note: "taskset could not pin this process; ran unpinned" };
  }
  return want === "split"
    ? { mode: "split", benchCpu: BENCH_CPU, serverCpu: SERVER_CPU }
    : { mode: "same", benchCpu: BENCH_CPU, serverCpu: BENCH_CPU };
}

/** Pins a server (or any child process) per the mode; a failure is reported, not fatal. */
export function pinProcess(pid: number | undefined, pin: PinInfo): string | undefined {
  if (pin.mode === "none" || pid === undefined || pin.serverCpu === undefined) return undefined;
  return taskset(["-a", "-p", "-c", String(pin.serverCpu), String(pid)])
    ? undefined
    : `could not pin pid ${pid} to CPU ${pin.serverCpu}`;
}

export function describePin(pin: PinInfo): string {
  const base =
    pin.mode === "split"
      ? `split: bench on CPU ${pin.benchCpu}, each server on CPU ${pin.serverCpu} (taskset)`
      : pin.mode === "same"
        ? `same: bench and servers on CPU ${pin.benchCpu} (taskset)`
        : "none: unpinned";
  return pin.note ? `${base} (${pin.note})` : base;
}
