import { rawCommand, type TestServer } from "@authcache/test-servers";

/** The server's total_commands_processed (INFO stats); each call adds one command itself. */
export async function commandsProcessed(server: TestServer): Promise<number> {
  const info = await rawCommand(server, "INFO stats");
  const m = /total_commands_processed:(\d+)/.exec(info);
  return m ? Number(m[1]) : Number.NaN;
}
