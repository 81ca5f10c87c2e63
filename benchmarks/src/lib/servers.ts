import { rawCommand, startServer, type TestServer } from "@authcache/test-servers";
import { pinProcess } from "./pinning.ts";
import type { PinInfo } from "./types.ts";

/** Starts each kind of server once, on first use, pinned per the mode; stops them all at the end. */
export class Servers {
  readonly #started = new Map<"redis" | "valkey", Promise<TestServer>>();
  readonly versions: Record<string, string> = {};
  readonly warnings: string[] = [];

  constructor(
    private readonly pin: PinInfo,
    private readonly log: (m: string) => void,
  ) {}

  get(kind: "redis" | "valkey"): Promise<TestServer> {
    let p = this.#started.get(kind);
    if (!p) {
      p = this.#start(kind);
      this.#started.set(kind, p);
    }
    return p;
  }

  async #start(kind: "redis" | "valkey"): Promise<TestServer> {
    const s = await startServer(kind);
    const warn = pinProcess(s.pid, this.pin);
    if (warn) this.warnings.push(warn);
    const info = await rawCommand(s, "INFO server");
    const v = /valkey_version:([^\r\n]+)/.exec(info) ?? /redis_version:([^\r\n]+)/.exec(info);
    this.versions[kind] = v?.[1] ?? "?";
    this.log(`started ${kind}-server ${this.versions[kind]} on port ${s.port} (pid ${s.pid})`);
    return s;
  }

  /** Empties a server between scenarios so one scenario's keys never slow another. */
  async flush(kind: "redis" | "valkey"): Promise<void> {
    const s = await this.get(kind);
    await rawCommand(s, "FLUSHALL", 60_000);
  }

  async stopAll(): Promise<void> {
    const all = await Promise.allSettled([...this.#started.values()]);
    await Promise.all(all.map((r) => (r.status === "fulfilled" ? r.value.stop() : undefined)));
    this.#started.clear();
  }
}
