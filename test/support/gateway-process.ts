/**
 * A demo-gateway process (`bun src/main.ts` in apps/demo-gateway) on a free loopback port, and
 * hand-made JWTs: every header and claim under the test's control, so `alg: none`, foreign
 * algorithms and tampered payloads can be built without a JWT library.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface GatewayProcess {
  readonly url: string;
  readonly pid: number;
  readonly output: () => string;
  /** SIGTERM, then waits for the exit (SIGKILL after 5 s). */
  stop(): Promise<void>;
  readonly exited: boolean;
}

const APP_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "apps", "demo-gateway");

export async function spawnGateway(env: Record<string, string>): Promise<GatewayProcess> {
  const child: ChildProcess = spawn(process.execPath, ["src/main.ts"], {
    cwd: APP_DIR,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      HOST: "127.0.0.1",
      PORT: "0",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // If this process dies without stopping the gateway (SIGKILL), the watchdog ends it.
  const watchdog = spawn(
    "sh",
    [
      "-c",
      `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${child.pid} 2>/dev/null; do sleep 1; done; kill -9 ${child.pid} 2>/dev/null`,
    ],
    { stdio: "ignore", detached: true },
  );
  watchdog.unref();
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once("exit", () => {
      exited = true;
      watchdog.kill("SIGKILL");
      resolve();
    }),
  );
  const stop = async (): Promise<void> => {
    if (exited) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exit;
    clearTimeout(timer);
  };
  for (let i = 0; i < 600 && !exited; i++) {
    const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
    if (url) {
      return {
        url,
        pid: child.pid ?? -1,
        output: () => out,
        stop,
        get exited() {
          return exited;
        },
      };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`demo-gateway did not start:\n${out}`);
}

const b64url = (data: string | Buffer): string => Buffer.from(data).toString("base64url");

/** Builds a JWT from a header and payload, signed with HMAC (`HS256`/`HS384`/`HS512`) under
 *  `secret`, or unsigned when `alg` is `none`. */
export function forgeJwt(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  secret: string,
): string {
  const head = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const alg = String(header.alg);
  if (alg === "none") return `${head}.`;
  const hash = { HS256: "sha256", HS384: "sha384", HS512: "sha512" }[alg];
  if (!hash) throw new Error(`forgeJwt: no HMAC for ${alg}`);
  return `${head}.${createHmac(hash, secret).update(head).digest("base64url")}`;
}
