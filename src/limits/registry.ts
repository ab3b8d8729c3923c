import type { GatewayConfig } from "../config/types.ts";
import type { RateLimitConfig } from "./config.ts";
import type { CompiledLimit } from "./algorithms/types.ts";
import { compileLimit } from "./compile.ts";

/**
 * Every limit of the config, compiled once, indexed by id. Built the same way
 * on the main thread and in every worker (routes in order, then consumers), so
 * the 1-based index stored in a slot's meta word names the same limit
 * everywhere: the sync loop reads it to know a slot's algorithm and id.
 */
export interface LimitRegistry {
  readonly byId: Map<string, CompiledLimit>;
  /** byIndex[i] = the limit with index i (index 0 unused). */
  readonly byIndex: (CompiledLimit | undefined)[];
  /** Compile a limit not in the config (tests); appended with a fresh index. */
  resolve(config: RateLimitConfig): CompiledLimit;
}

export function buildRegistry(config: Pick<GatewayConfig, "routes" | "consumers">): LimitRegistry {
  const byId = new Map<string, CompiledLimit>();
  const byIndex: (CompiledLimit | undefined)[] = [undefined];
  const add = (c: RateLimitConfig): CompiledLimit => {
    const existing = byId.get(c.id);
    if (existing) return existing;
    const compiled = compileLimit(c, byIndex.length);
    byId.set(c.id, compiled);
    byIndex.push(compiled);
    return compiled;
  };
  for (const r of config.routes) for (const l of r.rate_limits) add(l);
  for (const c of config.consumers) for (const l of c.rate_limits) add(l);
  return { byId, byIndex, resolve: add };
}
