import { afterAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import {
  rawCommand,
  type ServerKind,
  startCluster,
  startServer,
  type TestCluster,
  type TestServer,
} from "../src/index.ts";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function psPids(pattern: string): number[] {
  const out = execFileSync("ps", ["-eo", "pid,args"], { encoding: "utf8" });
  return out
    .split("\n")
    .filter((l) => l.includes(pattern))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

for (const kind of ["redis", "valkey"] as ServerKind[]) {
  describe(`${kind} standalone`, () => {
    let server: TestServer;
    afterAll(async () => server?.stop());
    test("connects, writes, reads, and is gone after stop", async () => {
      server = await startServer(kind);
      expect(server.host).toBe("127.0.0.1");
      expect(await rawCommand(server, "SET smoke-key hello")).toBe("+OK\r\n");
      expect(await rawCommand(server, "GET smoke-key")).toBe("$5\r\nhello\r\n");
      const pid = server.pid as number;
      expect(alive(pid)).toBe(true);
      expect(psPids(`127.0.0.1:${server.port}`).length).toBeGreaterThan(0);
      await server.stop();
      expect(alive(pid)).toBe(false);
      expect(psPids(`127.0.0.1:${server.port}`)).toEqual([]);
    });
    test("kill and restart keep the port and come back empty", async () => {
      const s = await startServer(kind);
      try {
        await rawCommand(s, "SET k v");
        await s.kill();
        await expect(rawCommand(s, "PING", 300)).rejects.toThrow();
        await s.restart();
        expect(await rawCommand(s, "GET k")).toBe("$-1\r\n");
      } finally {
        await s.stop();
      }
    });
  });

  describe(`${kind} cluster`, () => {
    let cluster: TestCluster;
    afterAll(async () => cluster?.stop());
    test("three masters, slots served, gone after stop", async () => {
      cluster = await startCluster(kind);
      expect(cluster.nodes.length).toBe(3);
      // A key lands on exactly one node; the others answer MOVED.
      const replies = await Promise.all(cluster.nodes.map((n) => rawCommand(n, "SET {smoke}k v")));
      expect(replies.filter((r) => r === "+OK\r\n").length).toBe(1);
      expect(replies.filter((r) => r.startsWith("-MOVED")).length).toBe(2);
      const ports = cluster.nodes.map((n) => n.port);
      await cluster.stop();
      for (const p of ports) expect(psPids(`127.0.0.1:${p}`)).toEqual([]);
    }, 60_000);
  });
}

test("the summary counts a failing test (set AUTHCACHE_SELFTEST_FAIL=1 to see it fail)", () => {
  expect(process.env.AUTHCACHE_SELFTEST_FAIL ?? "").not.toBe("1");
});

describe("ports", () => {
  test("freePort picks a bindable port below the ephemeral range; with clusterBus, its bus port (+10 000) is free and below that range too", async () => {
    const { freePort } = await import("../src/index.ts");
    const { readFileSync } = await import("node:fs");
    const { createServer } = await import("node:net");
    const low = Number(
      readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").split(/\s+/)[0],
    );
    const bindable = (port: number) =>
      new Promise<boolean>((resolve) => {
        const srv = createServer();
        srv.once("error", () => resolve(false));
        srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
      });
    for (let i = 0; i < 40; i++) {
      const plain = await freePort();
      expect(plain).toBeGreaterThanOrEqual(10_000);
      expect(plain).toBeLessThan(low);
      const port = await freePort({ clusterBus: true });
      expect(port + 10_000).toBeLessThan(Math.min(low, 65_536));
      expect(await bindable(port)).toBe(true);
      expect(await bindable(port + 10_000)).toBe(true);
    }
  });

  test("a server that exits before it is ready is started again on other ports, then fails loudly with the reason", async () => {
    await expect(
      startServer("redis", { args: ["--maxmemory-policy", "no-such-policy"] }),
    ).rejects.toThrow(
      /redis-server on port \d+ exited with 1; its log ends:\n[\s\S]*maxmemory-policy/,
    );
  });
});
