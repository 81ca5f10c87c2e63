import { expect, test } from "bun:test";
import { checkDurability, checkDurabilityReply, durabilityCommand } from "../src/index.ts";

test("durability options: checked by field, WAIT or WAITAOF built from them", () => {
  expect(checkDurability(undefined, "x")).toBeUndefined();
  expect(checkDurability({ replicas: 1, timeoutMs: 500 }, "x")).toEqual({
    replicas: 1,
    timeoutMs: 500,
  });
  expect(() => checkDurability({ replicas: 0, timeoutMs: 500 }, "x")).toThrow(
    "x: durability.replicas must be an integer from 1 to 100, got 0",
  );
  expect(() => checkDurability({ replicas: 1.5, timeoutMs: 500 }, "x")).toThrow(
    /durability\.replicas/,
  );
  expect(() => checkDurability({ replicas: 1, timeoutMs: 0 }, "x")).toThrow(
    "x: durability.timeoutMs must be an integer from 1 to 60000, got 0",
  );
  expect(() =>
    checkDurability({ replicas: 1, timeoutMs: 5, aof: "disk" as unknown as "local" }, "x"),
  ).toThrow(/durability\.aof must be "local", "replicas" or absent, got "disk"/);
  expect(() => checkDurability(null as unknown as undefined, "x")).toThrow(
    /durability must be an object/,
  );
  expect(() => checkDurability(7 as unknown as { replicas: 1; timeoutMs: 1 }, "x")).toThrow(
    /durability must be an object/,
  );

  expect(durabilityCommand({ replicas: 2, timeoutMs: 250 })).toEqual(["WAIT", "2", "250"]);
  expect(durabilityCommand({ replicas: 1, timeoutMs: 250, aof: "local" })).toEqual([
    "WAITAOF",
    "1",
    "1",
    "250",
  ]);
  expect(durabilityCommand({ replicas: 1, timeoutMs: 250, aof: "replicas" })).toEqual([
    "WAITAOF",
    "0",
    "1",
    "250",
  ]);
});

test("durability replies: enough acknowledgements pass, too few throw and say what it means", () => {
  const d = { replicas: 2, timeoutMs: 100 };
  expect(() => checkDurabilityReply(d, 2)).not.toThrow();
  expect(() => checkDurabilityReply(d, 3)).not.toThrow();
  expect(() => checkDurabilityReply(d, 1)).toThrow(
    "durability: 2 replica acknowledgement(s) required within 100 ms, got 1; the write was applied on the master but may not survive a failover",
  );
  expect(() => checkDurabilityReply(d, "nonsense")).toThrow(/got "nonsense"/);
  // WAITAOF answers [local fsyncs, replica fsyncs].
  const aof = { replicas: 1, timeoutMs: 100, aof: "local" as const };
  expect(() => checkDurabilityReply(aof, [1, 1])).not.toThrow();
  expect(() => checkDurabilityReply(aof, [0, 1])).toThrow(/no local AOF fsync/);
  expect(() => checkDurabilityReply({ ...aof, aof: "replicas" }, [0, 1])).not.toThrow();
});
