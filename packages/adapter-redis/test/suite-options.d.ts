import type { BusSuiteOptions, StoreSuiteOptions, SuiteRunner } from "@authcache/conformance";
import type { HostPort, ServerKind, TestCluster, TestServer } from "@authcache/test-servers";
import type { Cluster, Redis } from "ioredis";
import type { createRedisBus, createRedisStore } from "../src/index.ts";

export interface SuiteDeps {
  createRedisStore: typeof createRedisStore;
  createRedisBus: typeof createRedisBus;
  startServer: (kind: ServerKind) => Promise<TestServer>;
  startCluster: (kind: ServerKind) => Promise<TestCluster>;
  Redis: typeof Redis;
  Cluster: typeof Cluster;
}

export interface Backend {
  nodes: HostPort[];
  admin: Redis | Cluster;
  nodeAdmins: Redis[];
  stop(): Promise<void>;
}

export interface Target {
  readonly label: string;
  readonly kind: ServerKind;
  readonly cluster: boolean;
}

export const TARGETS: Target[];

export function redisSuites(deps: SuiteDeps): {
  target: Target;
  store: Omit<StoreSuiteOptions, keyof SuiteRunner>;
  bus: Omit<BusSuiteOptions, keyof SuiteRunner>;
}[];
