import { readFileSync } from "node:fs";
import { arch, availableParallelism, platform, totalmem } from "node:os";
import { join } from "node:path";

export interface Machine {
  readonly date: string;
  readonly runtime: string;
  readonly os: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGb: number;
  readonly libraries: Record<string, string>;
  /** Filled in as servers start: "redis" -> "7.0.15". */
  readonly servers: Record<string, string>;
}

function cpuModel(): string {
  try {
    const m = /model name\s*:\s*(.+)/.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (m?.[1]) return m[1].trim();
  } catch {}
  return "unknown CPU";
}

const LIBRARIES = [
  "bentocache",
  "cacheable",
  "@keyv/redis",
  "ioredis",
  "@valkey/valkey-glide",
  "@libsql/client",
  "lru-cache",
  "autocannon",
];

function version(pkg: string): string {
  try {
    const dir = join(import.meta.dir, "..", "..", "node_modules", pkg, "package.json");
    return (JSON.parse(readFileSync(dir, "utf8")) as { version: string }).version;
  } catch {
    return "?";
  }
}

export function describeMachine(): Machine {
  const libraries: Record<string, string> = {};
  for (const l of LIBRARIES) libraries[l] = version(l);
  return {
    date: new Date().toISOString(),
    runtime: `Bun ${Bun.version} (${platform()}/${arch()})`,
    os: `${platform()} ${arch()}`,
    cpu: cpuModel(),
    cores: availableParallelism(),
    memoryGb: Math.round(totalmem() / 2 ** 30),
    libraries,
    servers: {},
  };
}
