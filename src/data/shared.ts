import type { GatewayConfig } from "../config/types.ts";
import { FACTORIES } from "../policies/index.ts";
import { allocateUpstreamState } from "../upstream/index.ts";

/**
 * The SharedArrayBuffers every worker reads its shared state from, made on
 * the main thread and posted to the workers with the config: target health,
 * breakers and in-flight counts (the proxy terminal's), and each policy's own
 * (PolicyFactory.share: limiter slots, the revocation set, ...), by name.
 */
export interface SharedBuffers {
  upstreams: SharedArrayBuffer;
  policies: Record<string, SharedArrayBuffer | null>;
}

/**
 * Shared buffers for `config`. On reload, `previous` is the running config and
 * its buffers: state whose layout did not change is carried over, so a reload
 * resets no limiter counter and no target's health.
 */
export function allocateShared(config: GatewayConfig, previous: { config: GatewayConfig; shared: SharedBuffers } | null): SharedBuffers {
  const policies: Record<string, SharedArrayBuffer | null> = {};
  for (const f of FACTORIES) {
    if (!f.share) continue;
    const before = previous === null ? null : { config: previous.config, buffer: previous.shared.policies[f.name] ?? null };
    policies[f.name] = f.share(config, before);
  }
  return {
    // Targets kept by name and URL keep their health, breaker and counters.
    upstreams: allocateUpstreamState(config.upstreams, previous && { upstreams: previous.config.upstreams, sab: previous.shared.upstreams }),
    policies,
  };
}
