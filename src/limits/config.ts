/**
 * A rate limit as configured (normalized): the limits engine's own config
 * type, so its modules need nothing of src/config. The names are the config
 * contract (DESIGN.md), spelled once here.
 */

import type { RateLimitAlgorithm } from "./algorithms/names.ts";

export { RATE_LIMIT_ALGORITHMS, type RateLimitAlgorithm } from "./algorithms/names.ts";

export interface RateLimitConfig {
  algorithm: RateLimitAlgorithm;
  limit: number;
  /** ms; calendar quotas ("1d", "30d") are windows that are whole days, aligned to UTC midnight. */
  window: number;
  /** token_bucket capacity (default limit); leaky_bucket queue length (default 0). */
  burst: number;
  /** Key parts, e.g. ["consumer"] or ["ip", "header:x-tenant"]; header names lower-cased. */
  key: string[];
  /** leaky_bucket: queue and release at the rate instead of rejecting (nginx limit_req without nodelay). */
  delay: boolean;
  /** Optional: scale the limit down as event-loop lag passes lag_threshold, down to min_factor. */
  adaptive: { lag_threshold: number; min_factor: number } | null;
  /** Stable id: "<route or consumer>#<index>", used in store keys and headers. */
  id: string;
}
