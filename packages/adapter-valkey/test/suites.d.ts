import type { BusSuiteOptions, StoreSuiteOptions, SuiteRunner } from "@authcache/conformance";
import type { HostPort, ServerKind } from "@authcache/test-servers";
import type { ValkeyAddress, ValkeyClient } from "../src/index.ts";

export type Topology = "standalone" | "cluster";

/** A running backend for one test file: one server or a 3-master cluster. */
export interface Backend {
  readonly kind: ServerKind;
  readonly topology: Topology;
  readonly addresses: ValkeyAddress[];
  readonly cluster: boolean;
  readonly nodes: HostPort[];
  stop(): Promise<void>;
}

export function startBackend(kind: ServerKind, topology: Topology): Promise<Backend>;
export function adminClient(b: Backend): Promise<ValkeyClient>;
export function killConnections(nodes: HostPort[], names: readonly string[]): Promise<number>;
export function storeSuite(
  kind: ServerKind,
  topology: Topology,
  runner: SuiteRunner,
): StoreSuiteOptions;
export function busSuite(
  kind: ServerKind,
  topology: Topology,
  runner: SuiteRunner,
): BusSuiteOptions;
export const backends: readonly (readonly [ServerKind, Topology])[];
