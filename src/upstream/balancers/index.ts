import type { BalancerName, UpstreamConfig } from "../../config/types.ts";
import { compileKeyHash } from "./hash-key.ts";
import { HashBalancer } from "./hash.ts";
import { LeastConnBalancer } from "./least-conn.ts";
import { LeastTimeBalancer } from "./least-time.ts";
import { RandomBalancer } from "./random.ts";
import { RoundRobinBalancer } from "./round-robin.ts";
import type { Balancer, TargetLoad } from "./types.ts";
import { WeightedBalancer } from "./weighted.ts";

export type { Balancer, Candidates, TargetLoad } from "./types.ts";
export { newCandidates } from "./types.ts";

export const BALANCER_NAMES: readonly BalancerName[] = [
  "round_robin",
  "weighted",
  "least_conn",
  "least_time",
  "ip_hash",
  "hash",
  "random",
];

/**
 * The balancer of one tier (primaries or backups) of an upstream, for one
 * worker. `members` are the tier's target indexes; only the hash ring needs
 * them, the others see the tier through the candidates they are given.
 * Throws Error on a bad balancer name or hash_key (the caller adds the key path).
 */
export function createBalancer(config: UpstreamConfig, members: readonly number[], load: TargetLoad): Balancer {
  const targets = config.targets;
  switch (config.balancer) {
    case "round_robin":
      return new RoundRobinBalancer();
    case "weighted":
      return new WeightedBalancer(targets);
    case "least_conn":
      return new LeastConnBalancer(targets, load);
    case "least_time":
      return new LeastTimeBalancer(targets, load);
    case "ip_hash":
      return new HashBalancer(targets, members, compileKeyHash("ip"));
    case "hash":
      if (config.hash_key === null) throw new Error(`balancer "hash" needs hash_key`);
      return new HashBalancer(targets, members, compileKeyHash(config.hash_key));
    case "random":
      return new RandomBalancer(targets);
    default:
      throw new Error(`unknown balancer "${String(config.balancer)}" (expected ${BALANCER_NAMES.join(", ")})`);
  }
}
