import { readFileSync } from "node:fs";
import { arch, availableParallelism, loadavg, platform, totalmem } from "node:os";
import { join } from "node:path";

export interface Machine {
  readonly date: string;
  readonly runtime: string;
  readonly os: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGb: number;
  /** The 1-, 5- and 15-minute load averages when the run started (and, once it ends, the
   *  highest 1-minute figure seen between scenarios). */
  readonly loadAverage: readonly [number, number, number];
  loadAverageMax: number;
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
    loadAverage: roundedLoad(),
    loadAverageMax: roundedLoad()[0],
    libraries,
    servers: {},
  };
}

function roundedLoad(): [number, number, number] {
  const [a = 0, b = 0, c = 0] = loadavg();
  return [Math.round(a * 100) / 100, Math.round(b * 100) / 100, Math.round(c * 100) / 100];
}

/** Records the current 1-minute load average; returns a warning when it exceeds the cores
 *  (the figures of a busy machine are not comparable with an idle one's). */
export function sampleLoad(m: Machine): string | undefined {
  const now = roundedLoad()[0];
  if (now > m.loadAverageMax) m.loadAverageMax = now;
  return now > m.cores
    ? `load average ${now} is above the ${m.cores} cores: the machine is not idle, figures are noisy`
    : undefined;
}
