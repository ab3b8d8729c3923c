/**
 * Rate limits and quotas. The lead wires four calls:
 *
 *   main thread:  const shared = allocateLimiterShared(config)       // once, post `shared` to workers
 *                 const sync = startLimiterSync(config, shared)      // Redis heartbeat / sync loop; sync.stop() on shutdown
 *   each worker:  const limits = createLimiterRuntime(config, shared) // limits.close() on shutdown
 *                 (src/policies/rate-limit builds each route's policy over it)
 *
 * On reload, a new config keeps the same `shared` buffer when rate_limit.slots
 * is unchanged (limit ids that survive keep their state), else allocate anew.
 */
export { allocateLimiterShared, createLimiterRuntime, type LimiterRuntime } from "./runtime.ts";
export { startLimiterSync, type LimiterSync, type SyncOptions } from "./redis/sync.ts";
export { allocateLimiterTable, attachLimiterTable, tableStats, type LimiterTable, type TableStats } from "./slot-table.ts";
export { compileLimit, limitProblems } from "./compile.ts";
export { keyPartProblems } from "./keys.ts";
export { lagFactor, startLagMonitor, type LagMonitor } from "./adaptive.ts";
export type { CompiledLimit, Decision } from "./algorithms/types.ts";
