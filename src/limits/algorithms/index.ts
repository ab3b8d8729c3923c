import { concurrency } from "./concurrency.ts";
import { fixedWindow } from "./fixed-window.ts";
import { gcra } from "./gcra.ts";
import type { RateLimitAlgorithm } from "./names.ts";
import { slidingWindow } from "./sliding-window.ts";
import type { LimitAlgorithm } from "./types.ts";

/** Algorithm name (the config contract, names.ts) → implementation. token_bucket and leaky_bucket share GCRA. */
export const ALGORITHMS = {
  token_bucket: gcra,
  leaky_bucket: gcra,
  fixed_window: fixedWindow,
  sliding_window: slidingWindow,
  concurrency,
} as const satisfies Record<RateLimitAlgorithm, LimitAlgorithm>;

export type { CompiledLimit, Decision, LimitAlgorithm } from "./types.ts";
export { RATE_LIMIT_ALGORITHMS, type RateLimitAlgorithm } from "./names.ts";
export { newDecision, effectiveLimit } from "./types.ts";
