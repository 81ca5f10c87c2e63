/** Bounded staleness on a Valkey cluster with replicas, through the valkey-glide adapter (the
 *  run is described in ../support/cluster-chaos.ts). */
import { defineClusterChaos } from "../support/cluster-chaos.ts";

defineClusterChaos("valkey", {
  client: "valkey-glide",
  namespace: "chaos-cluster-valkey",
  deafNamespace: "deaf-cluster-valkey",
  seedOffset: 23,
  deafTitle: "the valkey cluster run catches a cache that ignores the invalidation log",
});
