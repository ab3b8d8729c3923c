import type { RateLimitConfig } from "./config.ts";
import { ConfigError } from "../errors.ts";
import { ALGORITHMS } from "./algorithms/index.ts";
import { COUNT_MASK } from "./algorithms/fixed-window.ts";
import type { CompiledLimit } from "./algorithms/types.ts";
import { sfString } from "./headers.ts";
import { keyPartProblems } from "./keys.ts";

const DAY_MS = 86_400_000;
const DEFAULT_LEASE_MS = 60_000;
/** Largest TAT distance stored, in units: 2^30 leaves room for the signed wrap test. */
const SPAN_UNITS = 2 ** 30;

/**
 * Compile one configured limit. Validates what the hot path relies on and
 * throws ConfigError naming the limit id. `index` is the registry index
 * (1-based, the slot meta word).
 */
export function compileLimit(config: RateLimitConfig, index: number): CompiledLimit {
  const where = `rate limit "${config.id}"`;
  const problems: string[] = [];
  const impl = ALGORITHMS[config.algorithm];
  if (!impl) problems.push(`${where}: unknown algorithm "${config.algorithm}"`);
  if (!Number.isInteger(config.limit) || config.limit < 1) problems.push(`${where}: limit must be a positive integer, got ${config.limit}`);
  const isConcurrency = config.algorithm === "concurrency";
  if (!isConcurrency && !(config.window > 0)) problems.push(`${where}: window must be positive, got ${config.window}`);
  if (!Number.isInteger(config.burst) || config.burst < 0) problems.push(`${where}: burst must be a non-negative integer, got ${config.burst}`);
  if ((config.algorithm === "fixed_window" || config.algorithm === "sliding_window") && config.limit > COUNT_MASK) {
    problems.push(`${where}: limit must be at most ${COUNT_MASK} for ${config.algorithm}`);
  }
  if (isConcurrency && config.limit > 0x3fffffff) problems.push(`${where}: limit too large`);
  if (config.delay && config.algorithm !== "leaky_bucket") problems.push(`${where}: delay applies to leaky_bucket only`);
  if (config.adaptive) {
    const { lag_threshold, min_factor } = config.adaptive;
    if (!(lag_threshold > 0)) problems.push(`${where}: adaptive.lag_threshold must be positive`);
    if (!(min_factor > 0 && min_factor <= 1)) problems.push(`${where}: adaptive.min_factor must be in (0, 1]`);
  }
  if (config.key.length === 0) problems.push(`${where}: key must name at least one part`);
  for (const p of keyPartProblems(config.key)) problems.push(`${where}: ${p}`);

  const windowMs = isConcurrency && !(config.window > 0) ? DEFAULT_LEASE_MS : config.window;
  const capacity =
    config.algorithm === "leaky_bucket" ? config.burst + 1 : config.algorithm === "token_bucket" ? config.burst > 0 ? config.burst : config.limit : 0;

  // GCRA unit: the finest of µs / ms / s in which one bucket plus the stale margin fits 30 bits.
  let unitMs = 1;
  if (capacity > 0 && problems.length === 0) {
    const t = windowMs / config.limit;
    const span = (capacity + 1) * t + 2000;
    const unit = [0.001, 1, 1000].find((u) => span / u < SPAN_UNITS);
    if (unit === undefined) problems.push(`${where}: window × burst too large`);
    else unitMs = unit;
  }
  if (problems.length) throw new ConfigError(problems);

  const windowSec = Math.max(1, Math.ceil(windowMs / 1000));
  const sfName = sfString(config.id);
  return {
    config,
    id: config.id,
    index,
    algorithm: config.algorithm,
    impl,
    limit: config.limit,
    windowMs,
    burst: config.burst,
    delay: config.delay,
    unitMs,
    tu: capacity > 0 ? Math.max(1, Math.round(windowMs / config.limit / unitMs)) : 0,
    capacity,
    leaseMs: windowMs,
    calendar: !isConcurrency && windowMs % DAY_MS === 0,
    // draft-ietf-httpapi-ratelimit-headers-10 §3.1: q = quota, w = window seconds, qu = quota unit.
    policyItem: isConcurrency ? `${sfName};q=${config.limit};qu="concurrent-requests"` : `${sfName};q=${config.limit};w=${windowSec}`,
    sfName,
    windowSec,
  };
}
