import { afterAll, describe, expect, test } from "bun:test";
import { rawCommand, type ServerKind, startCluster, type TestCluster } from "../src/index.ts";

const owner = <N extends { port: number }>(nodes: N[], replies: string[]) =>
  nodes.filter((_, i) => replies[i] === "+OK\r\n" || replies[i]?.startsWith("$"));

for (const kind of ["redis", "valkey"] as ServerKind[]) {
  describe(`${kind} cluster with replicas`, () => {
    let cluster: TestCluster | undefined;
    afterAll(async () => cluster?.stop());

    test("3 masters + 3 replicas; a killed master is replaced by its replica; a manual failover and a reshard keep every key", async () => {
      cluster = await startCluster(kind, { replicas: 1 });
      expect(cluster.nodes.length).toBe(3);
      expect(cluster.allNodes.length).toBe(6);
      let topo = await cluster.topology();
      expect(topo.filter((n) => n.role === "master").length).toBe(3);
      expect(topo.filter((n) => n.role === "replica").length).toBe(3);
      expect(topo.filter((n) => n.role === "master").reduce((s, n) => s + n.slots, 0)).toBe(16384);

      // Write a key, find its master and that master's replica.
      const masters = cluster.nodes;
      const set = await Promise.all(masters.map((n) => rawCommand(n, "SET {k1}a v1")));
      const [m] = owner(masters, set);
      if (!m) throw new Error("no master took the key");
      const mInfo = topo.find((n) => n.port === m.port);
      const replica = topo.find((n) => n.masterId === mInfo?.id);
      if (!replica) throw new Error("the master has no replica");
      // WAIT for the replica so the key survives the kill (asynchronous replication otherwise).
      expect(await rawCommand(m, "WAIT 1 2000")).toBe(":1\r\n");

      await cluster.killNode(m);
      await cluster.waitHealthy(30_000);
      topo = await cluster.topology();
      expect(topo.find((n) => n.port === replica.port)?.role).toBe("master");
      expect(await rawCommand(replica, "GET {k1}a")).toBe("$2\r\nv1\r\n");

      // The old master comes back as a replica of its successor; a forced failover swaps back.
      await cluster.restartNode(m);
      const deadline = Date.now() + 30_000;
      for (;;) {
        const me = (await cluster.topology()).find((n) => n.port === m.port);
        if (me?.role === "replica" && !me.failed) break;
        if (Date.now() > deadline) throw new Error("old master did not rejoin as a replica");
        await new Promise((r) => setTimeout(r, 50));
      }
      await cluster.failover(m);
      topo = await cluster.topology();
      expect(topo.find((n) => n.port === m.port)?.role).toBe("master");

      // Move 100 slots from one master to another while a key lives in a moved range.
      // A node demoted by the failover is still a slotless "master" to the others for a while.
      const [from, to] = topo.filter((n) => n.role === "master" && n.slots > 0);
      if (!from || !to) throw new Error("expected two masters");
      const before = from.slots;
      await cluster.reshard(from, to, 100);
      topo = await cluster.topology();
      expect(topo.find((n) => n.id === from.id)?.slots).toBe(before - 100);
      // Once reshard resolves, every node knows of the move, replicas included: a replica of
      // `to` promoted now must claim the moved slots (else no node would serve them again).
      for (const node of cluster.allNodes) {
        const view = await rawCommand(node, "CLUSTER NODES");
        const line = (id: string) => view.split("\n").find((l) => l.startsWith(id)) ?? "";
        const slots = (l: string) =>
          l
            .trim()
            .split(" ")
            .slice(8)
            .filter((r) => !r.startsWith("["))
            .reduce((n, r) => {
              const [a, b] = r.split("-").map(Number);
              return n + (b === undefined ? 1 : b - (a as number) + 1);
            }, 0);
        expect({ node: node.port, from: slots(line(from.id)), to: slots(line(to.id)) }).toEqual({
          node: node.port,
          from: before - 100,
          to: to.slots + 100,
        });
      }
      const got = await Promise.all(
        topo.filter((n) => n.role === "master").map((n) => rawCommand(n, "GET {k1}a")),
      );
      expect(got.filter((r) => r === "$2\r\nv1\r\n").length).toBe(1);
    }, 180_000);
  });
}
