import type { RateLimitConfig } from "./config.ts";
import { ConfigError, keyedLine, type KeyedProblem } from "../errors.ts";
import { ALGORITHMS, RATE_LIMIT_ALGORITHMS } from "./algorithms/index.ts";
import { COUNT_MASK } from "./algorithms/fixed-window.ts";
import type { CompiledLimit } from "./algorithms/types.ts";
import { sfString } from "./headers.ts";
import { keyPartProblems } from "./keys.ts";

const DAY_MS = 86_400_000;
const DEFAULT_LEASE_MS = 60_000;
/** Largest TAT distance stored, in units: 2^30 leaves room for the signed wrap test. */
const SPAN_UNITS = 2 ** 30;

/** The window counters keep a count in COUNT_MASK's bits; concurrency counts in-flight requests in 30. */
const MAX_CONCURRENCY = 0x3fffffff;

/**
 * Everything compileLimit refuses, without compiling: each problem's path is
 * relative to the limit (["limit"], ["window"], [] for the limit as a whole).
 * Config load runs this on every limit (src/config/verify.ts), so a limit the
 * workers would refuse never gets past `--check`.
 */
export function limitProblems(config: RateLimitConfig): KeyedProblem[] {
  const problems: KeyedProblem[] = [];
  const add = (path: KeyedProblem["path"], message: string) => problems.push({ path, message });
  if (!Object.hasOwn(ALGORITHMS, config.algorithm)) {
    add(["algorithm"], `unknown algorithm "${config.algorithm}" (expected ${RATE_LIMIT_ALGORITHMS.join(", ")})`);
  }
  if (!Number.isInteger(config.limit) || config.limit < 1) add(["limit"], `must be a positive integer, got ${config.limit}`);
  const isConcurrency = config.algorithm === "concurrency";
  if (!isConcurrency && !(config.window > 0)) add(["window"], `must be positive, got ${config.window}`);
  if (!Number.isInteger(config.burst) || config.burst < 0) add(["burst"], `must be a non-negative integer, got ${config.burst}`);
  if ((config.algorithm === "fixed_window" || config.algorithm === "sliding_window") && config.limit > COUNT_MASK) {
    add(["limit"], `must be at most ${COUNT_MASK} for ${config.algorithm} (the shared window counter's range)`);
  }
  if (isConcurrency && config.limit > MAX_CONCURRENCY) add(["limit"], `must be at most ${MAX_CONCURRENCY} for concurrency`);
  if (config.delay && config.algorithm !== "leaky_bucket") add(["delay"], "applies to leaky_bucket only");
  if (config.adaptive) {
    const { lag_threshold, min_factor } = config.adaptive;
    if (!(lag_threshold > 0)) add(["adaptive", "lag_threshold"], "must be positive");
    if (!(min_factor > 0 && min_factor <= 1)) add(["adaptive", "min_factor"], "must be in (0, 1]");
  }
  if (config.key.length === 0) add(["key"], "must name at least one part");
  for (const p of keyPartProblems(config.key)) add(["key"], p);
  if (problems.length === 0 && capacityOf(config) > 0 && gcraUnit(config) === undefined) {
    add([], "window × burst too large: one bucket would span more than 2^30 seconds (use a shorter window, a higher limit or a smaller burst)");
  }
  return problems;
}

function windowOf(config: RateLimitConfig): number {
  return config.algorithm === "concurrency" && !(config.window > 0) ? DEFAULT_LEASE_MS : config.window;
}

/** GCRA bucket size in requests: token_bucket's burst (default limit), leaky_bucket's queue + 1; 0 for the others. */
function capacityOf(config: RateLimitConfig): number {
  if (config.algorithm === "leaky_bucket") return config.burst + 1;
  if (config.algorithm === "token_bucket") return config.burst > 0 ? config.burst : config.limit;
  return 0;
}

/** GCRA unit: the finest of µs / ms / s in which one bucket plus the stale margin fits 30 bits; undefined when none does. */
function gcraUnit(config: RateLimitConfig): number | undefined {
  const t = windowOf(config) / config.limit;
  const span = (capacityOf(config) + 1) * t + 2000;
  return [0.001, 1, 1000].find((u) => span / u < SPAN_UNITS);
}

/**
 * Compile one configured limit. Validates what the hot path relies on
 * (limitProblems) and throws ConfigError naming the limit id. `index` is the
 * registry index (1-based, the slot meta word).
 */
export function compileLimit(config: RateLimitConfig, index: number): CompiledLimit {
  const where = `rate limit "${config.id}"`;
  const problems = limitProblems(config);
  if (problems.length) throw new ConfigError(problems.map((p) => `${where}: ${keyedLine([], p)}`));

  const impl = ALGORITHMS[config.algorithm];
  const isConcurrency = config.algorithm === "concurrency";
  const windowMs = windowOf(config);
  const capacity = capacityOf(config);
  const unitMs = capacity > 0 ? gcraUnit(config)! : 1;

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
