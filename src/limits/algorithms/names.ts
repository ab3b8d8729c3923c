/**
 * Rate-limit algorithm names: the config contract (`algorithm = "..."`),
 * spelled once. ALGORITHMS (index.ts) is keyed by this list; the schema's
 * oneOf and RateLimitAlgorithm are derived from it. A leaf module, so
 * config/types.ts can take the type without a cycle.
 */
export const RATE_LIMIT_ALGORITHMS = ["token_bucket", "sliding_window", "fixed_window", "leaky_bucket", "concurrency"] as const;

export type RateLimitAlgorithm = (typeof RATE_LIMIT_ALGORITHMS)[number];
