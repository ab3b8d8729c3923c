/**
 * The upstream engines' public surface, for the server and the admin API:
 *
 * main thread:  allocateUpstreamState(upstreams, previous?) → SharedArrayBuffer
 *               startHealthChecks(upstreams, new UpstreamStateView(sab, upstreams), opts?) → { stop() }
 *               new UpstreamStateView(sab, upstreams).snapshot() → admin API / metrics
 * each worker:  createUpstreamRuntimes(upstreams, sab) → Upstream[] (config order)
 * forwarding:   runtime.pick / onStart / onEnd / takeRetry, retryAfterSeconds(runtime)
 */
export { allocateUpstreamState, UpstreamStateView, type TargetSnapshot, type UpstreamSnapshot } from "./shared-state.ts";
export { createUpstreamRuntime, createUpstreamRuntimes, retryAfterSeconds, Upstream } from "./runtime.ts";
export { startHealthChecks, type HealthChange, type HealthCheckOptions, type HealthChecks } from "./health-checker.ts";
export { monotonicNow, type Clock } from "./time.ts";
export type { UpstreamRuntime } from "./types.ts";
export { upstreamProblems, validateUpstream } from "./validate.ts";
