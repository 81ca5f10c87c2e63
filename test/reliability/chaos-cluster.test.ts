/** Bounded staleness on a Redis cluster with replicas, through the ioredis adapter (the run is
 *  described in ../support/cluster-chaos.ts). */
import { defineClusterChaos } from "../support/cluster-chaos.ts";

defineClusterChaos("redis", {
  client: "ioredis",
  namespace: "chaos-cluster",
  deafNamespace: "deaf-cluster",
  seedOffset: 19,
  deafTitle: "the cluster run catches a cache that ignores the invalidation log",
});
