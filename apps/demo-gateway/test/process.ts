/** Runs `bun src/main.ts` as a child process and reads what it prints. */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";

export interface GatewayProcess {
  readonly url: string;
  /** The demo tokens main.ts printed. */
  readonly userToken: string;
  readonly adminToken: string;
  readonly output: () => string;
  readonly child: ChildProcess;
  /** SIGTERM, then waits for the exit (SIGKILL if it lingers). */
  stop(): Promise<void>;
}

const APP_DIR = join(import.meta.dir, "..");

export async function spawnGateway(env: Record<string, string>): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ["src/main.ts"], {
    cwd: APP_DIR,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };

  // Bounded wait for the banner (main.ts prints it once everything is up).
  for (let i = 0; i < 600; i++) {
    const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
    const userToken = /export TOKEN='([^']+)'/.exec(out)?.[1];
    const adminToken = /export ADMIN='([^']+)'/.exec(out)?.[1];
    if (url && userToken && adminToken) {
      return { url, userToken, adminToken, output: () => out, child, stop };
    }
    if (child.exitCode !== null) break;
    await Bun.sleep(50);
  }
  await stop();
  throw new Error(`gateway did not start:\n${out}`);
}
