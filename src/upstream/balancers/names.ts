/**
 * Balancer names: the config contract (`balancer = "..."`), spelled once.
 * The registry in index.ts is keyed by this list (`satisfies` proves it has
 * exactly these names); the schema's oneOf and BalancerName are derived from
 * it. A leaf module, so config/types.ts can take the type without a cycle.
 */
export const BALANCER_NAMES = ["round_robin", "weighted", "least_conn", "least_time", "ip_hash", "hash", "random"] as const;

export type BalancerName = (typeof BALANCER_NAMES)[number];

export function isBalancerName(name: string): name is BalancerName {
  return (BALANCER_NAMES as readonly string[]).includes(name);
}
