import type { UpstreamConfig } from "../config/types.ts";
import { ConfigError, keyedLine, type KeyedProblem, type KeyPath } from "../errors.ts";
import { BALANCER_NAMES, isBalancerName } from "./balancers/names.ts";
import { compileKeyHash } from "./balancers/hash-key.ts";

/** Largest half_open_requests the breaker word can count (permits use the upper 30 bits). */
const MAX_PERMITS = 1 << 29;
/** Breaker and passive stamps are 31-bit ms distances (time.ts): about 12.4 days. */
const MAX_SPAN_MS = 0x40000000;

/**
 * Check what the upstream engines rely on, when the runtime is built (config
 * load), never per request. Every problem is reported, each with its key path.
 */
export function validateUpstream(u: UpstreamConfig, index: number): void {
  const problems = upstreamProblems(u);
  if (problems.length > 0) throw new ConfigError(problems.map((p) => keyedLine(["upstreams", index], p)));
}

/**
 * What validateUpstream (and so createUpstreamRuntime and createBalancer)
 * refuses, each with its path relative to the upstream. Pure: config load runs
 * it too (src/config/verify.ts), so `--check` refuses what a worker would.
 */
export function upstreamProblems(u: UpstreamConfig): KeyedProblem[] {
  const problems: KeyedProblem[] = [];
  const add = (path: KeyPath, message: string) => problems.push({ path, message });
  const positiveInt = (v: number, min: number) => Number.isInteger(v) && v >= min;
  if (!isBalancerName(u.balancer)) {
    add(["balancer"], `unknown balancer "${String(u.balancer)}" (expected ${BALANCER_NAMES.join(", ")})`);
  }
  if (u.balancer === "hash") {
    if (u.hash_key === null) add(["hash_key"], `required with balancer = "hash"`);
    else {
      try {
        compileKeyHash(u.hash_key);
      } catch (e) {
        add(["hash_key"], (e as Error).message);
      }
    }
  }
  // With dns_srv the targets may all come from DNS (the control plane refuses a load that resolves none).
  if (u.targets.length === 0 && !u.discovery?.dns_srv) add(["targets"], "at least one target is required");
  u.targets.forEach((t, i) => {
    if (!(Number.isFinite(t.weight) && t.weight > 0)) add(["targets", i, "weight"], `must be a number > 0, got ${t.weight}`);
  });
  const cb = u.circuit_breaker;
  if (cb) {
    if (!positiveInt(cb.failures, 1)) add(["circuit_breaker", "failures"], `must be an integer >= 1, got ${cb.failures}`);
    if (!(Number.isFinite(cb.open_for) && cb.open_for >= 0 && cb.open_for < MAX_SPAN_MS)) {
      add(["circuit_breaker", "open_for"], `must be between 0 and 12 days, got ${cb.open_for} ms`);
    }
    if (!positiveInt(cb.half_open_requests, 1) || cb.half_open_requests >= MAX_PERMITS) {
      add(["circuit_breaker", "half_open_requests"], `must be an integer from 1 to ${MAX_PERMITS - 1}, got ${cb.half_open_requests}`);
    }
  }
  const pv = u.passive;
  if (pv) {
    if (!positiveInt(pv.max_fails, 0)) add(["passive", "max_fails"], `must be an integer >= 0, got ${pv.max_fails}`);
    if (pv.max_fails > 0 && !(Number.isFinite(pv.fail_timeout) && pv.fail_timeout > 0 && pv.fail_timeout < MAX_SPAN_MS)) {
      add(["passive", "fail_timeout"], `must be between 1 ms and 12 days, got ${pv.fail_timeout} ms`);
    }
  }
  const hc = u.health_check;
  if (hc) {
    if (!hc.path.startsWith("/")) add(["health_check", "path"], `must start with "/", got "${hc.path}"`);
    if (!(Number.isFinite(hc.interval) && hc.interval > 0)) add(["health_check", "interval"], `must be > 0, got ${hc.interval} ms`);
    if (!(Number.isFinite(hc.timeout) && hc.timeout > 0)) add(["health_check", "timeout"], `must be > 0, got ${hc.timeout} ms`);
    if (!positiveInt(hc.healthy, 1)) add(["health_check", "healthy"], `must be an integer >= 1, got ${hc.healthy}`);
    if (!positiveInt(hc.unhealthy, 1)) add(["health_check", "unhealthy"], `must be an integer >= 1, got ${hc.unhealthy}`);
    const [lo, hi] = hc.expected_status;
    if (!(positiveInt(lo, 100) && positiveInt(hi, lo) && hi <= 599)) {
      add(["health_check", "expected_status"], `must be a range within 100-599, got ${lo}-${hi}`);
    }
  }
  const rb = u.retry_budget;
  if (!(Number.isFinite(rb.ratio) && rb.ratio >= 0)) add(["retry_budget", "ratio"], `must be a number >= 0, got ${rb.ratio}`);
  if (!(Number.isFinite(rb.min_per_second) && rb.min_per_second >= 0)) {
    add(["retry_budget", "min_per_second"], `must be a number >= 0, got ${rb.min_per_second}`);
  }
  if (!positiveInt(u.retries, 0)) add(["retries"], `must be an integer >= 0, got ${u.retries}`);
  return problems;
}
