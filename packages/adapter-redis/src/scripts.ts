import { createHash } from "node:crypto";
import { SCRIPTS, type ScriptCall, type ScriptName } from "@authcache/redis-protocol";
import type { RedisClient } from "./connection.ts";

/** A script sent by hash, and by source only when the server does not know it yet. */
class Script {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash("sha1").update(source).digest("hex");
  }

  async run(client: RedisClient, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.includes("NOSCRIPT")) throw error;
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

const scripts = Object.fromEntries(
  Object.entries(SCRIPTS).map(([name, source]) => [name, new Script(source)]),
) as Record<ScriptName, Script>;

/** Runs one of the protocol's scripts (`EVALSHA`, then `EVAL` on `NOSCRIPT`). */
export function runScript(client: RedisClient, call: ScriptCall): Promise<unknown> {
  return scripts[call.script].run(client, call.keys, call.args);
}
