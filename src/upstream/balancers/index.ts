import type { UpstreamConfig } from "../../config/types.ts";
import { compileKeyHash } from "./hash-key.ts";
import { HashBalancer } from "./hash.ts";
import { LeastConnBalancer } from "./least-conn.ts";
import { LeastTimeBalancer } from "./least-time.ts";
import { BALANCER_NAMES, type BalancerName } from "./names.ts";
import { RandomBalancer } from "./random.ts";
import { RoundRobinBalancer } from "./round-robin.ts";
import type { Balancer, TargetLoad } from "./types.ts";
import { WeightedBalancer } from "./weighted.ts";

export type { Balancer, Candidates, TargetLoad } from "./types.ts";
export { newCandidates } from "./types.ts";
export { BALANCER_NAMES, isBalancerName, type BalancerName } from "./names.ts";

/**
 * Builds the balancer of one tier (primaries or backups) of an upstream, for
 * one worker. `members` are the tier's target indexes; only the hash ring
 * needs them, the others see the tier through the candidates they are given.
 */
export type BalancerFactory = (config: UpstreamConfig, members: readonly number[], load: TargetLoad) => Balancer;

/** Balancer name (the config contract, names.ts) → factory. */
export const BALANCERS = {
  round_robin: () => new RoundRobinBalancer(),
  weighted: (config) => new WeightedBalancer(config.targets),
  least_conn: (config, _members, load) => new LeastConnBalancer(config.targets, load),
  least_time: (config, _members, load) => new LeastTimeBalancer(config.targets, load),
  ip_hash: (config, members) => new HashBalancer(config.targets, members, compileKeyHash("ip")),
  hash: (config, members) => {
    if (config.hash_key === null) throw new Error(`balancer "hash" needs hash_key`);
    return new HashBalancer(config.targets, members, compileKeyHash(config.hash_key));
  },
  random: (config) => new RandomBalancer(config.targets),
} as const satisfies Record<BalancerName, BalancerFactory>;

/**
 * The balancer `config.balancer` names, for one tier of one worker.
 * Throws Error on a bad balancer name or hash_key (the caller adds the key path).
 */
export function createBalancer(config: UpstreamConfig, members: readonly number[], load: TargetLoad): Balancer {
  const name: string = config.balancer;
  if (!Object.hasOwn(BALANCERS, name)) throw new Error(`unknown balancer "${name}" (expected ${BALANCER_NAMES.join(", ")})`);
  const factory: BalancerFactory = BALANCERS[name as BalancerName];
  return factory(config, members, load);
}
