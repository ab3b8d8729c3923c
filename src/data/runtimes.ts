import {
  allocateAuthShared,
  createAuthPolicy,
  createAuthRuntime,
  startRevocationSync,
  type AuthRuntime,
  type RevocationController,
} from "../auth/index.ts";
import type { GatewayConfig, RouteConfig, UpstreamConfig } from "../config/types.ts";
import {
  allocateLimiterShared,
  createLimiterRuntime,
  createRateLimitPolicy,
  startLimiterSync,
  type LimiterRuntime,
} from "../limits/index.ts";
import type { Policy } from "../policies/types.ts";
import { allocateUpstreamState, createUpstreamRuntimes, startHealthChecks, UpstreamStateView } from "../upstream/index.ts";
import type { UpstreamRuntime } from "../upstream/types.ts";

/**
 * The one place that knows which engines exist and in which order their
 * policies run (DESIGN.md "A request, in order"): access (auth), then limits.
 * Engines never import the pipeline order; they only provide a Policy.
 */

/** SharedArrayBuffers made on the main thread and handed to every worker. */
export interface SharedBuffers {
  upstreams: SharedArrayBuffer;
  limits: SharedArrayBuffer;
  /** Revocation set (jti and API-key denylist). */
  auth: SharedArrayBuffer;
}

/**
 * Shared buffers for `config`. On reload, `previous` is the running config and
 * its buffers: state whose layout did not change is carried over, so a reload
 * resets no limiter counter and no target's health.
 */
export function allocateShared(config: GatewayConfig, previous: { config: GatewayConfig; shared: SharedBuffers } | null): SharedBuffers {
  // Same capacity and the same key hashing (sync mode seeds it from key_prefix): counters carry over.
  const keepLimits =
    previous !== null &&
    previous.config.rate_limit.slots === config.rate_limit.slots &&
    previous.config.redis?.mode === config.redis?.mode &&
    previous.config.redis?.key_prefix === config.redis?.key_prefix;
  return {
    // Targets kept by name and URL keep their health, breaker and counters.
    upstreams: allocateUpstreamState(config.upstreams, previous && { upstreams: previous.config.upstreams, sab: previous.shared.upstreams }),
    limits: keepLimits ? previous.shared.limits : allocateLimiterShared(config),
    // Always kept: revocations made at run time must survive a reload.
    auth: previous ? previous.shared.auth : allocateAuthShared(config),
  };
}

/** Main-thread services that feed the shared state: health checks, Redis sync, revocation sync. */
export interface ControlServices {
  /** The revocation denylist, for the admin API. */
  readonly revocation: RevocationController;
  /** Per-target health, breaker and load, for the admin API and metrics. */
  upstreamState(): UpstreamStateView;
  /** Switch to a reloaded config and its buffers. */
  reload(config: GatewayConfig, shared: SharedBuffers): void;
  stop(): void;
}

export function startControlServices(config: GatewayConfig, shared: SharedBuffers): ControlServices {
  // Heartbeats and the sync loop run whenever Redis is configured, strict mode included.
  const startLimiter = (c: GatewayConfig, s: SharedBuffers) => (c.redis ? startLimiterSync(c, s.limits) : null);
  let limiterSync = startLimiter(config, shared);
  const revocation = startRevocationSync(config, shared.auth);
  const checkHealth = (c: GatewayConfig, s: SharedBuffers) => {
    const view = new UpstreamStateView(s.upstreams, c.upstreams);
    const checks = startHealthChecks(c.upstreams, view, {
      onChange: (change) => console.error(JSON.stringify({ time: new Date().toISOString(), level: "warn", msg: "target health changed", ...change })),
    });
    return { view, checks };
  };
  let health = checkHealth(config, shared);
  return {
    revocation,
    upstreamState: () => health.view,
    reload(next, nextShared) {
      void limiterSync?.stop();
      limiterSync = startLimiter(next, nextShared);
      revocation.applyConfig(next);
      health.checks.stop();
      health = checkHealth(next, nextShared);
    },
    stop() {
      void limiterSync?.stop();
      revocation.stop();
      health.checks.stop();
    },
  };
}

export interface Runtimes {
  upstream(u: UpstreamConfig, index: number): UpstreamRuntime;
  limits: LimiterRuntime;
  auth: AuthRuntime;
  /** Lower-case header names no client may send upstream. */
  identityHeaders: readonly string[];
  /** Connections and key sets the first requests need (strict Redis, JWKS), waited for at most `timeoutMs`. */
  ready(timeoutMs: number): Promise<void>;
  dispose(): void;
}

export function buildRuntimes(config: GatewayConfig, shared: SharedBuffers): Runtimes {
  const limits = createLimiterRuntime(config, shared.limits);
  const auth = createAuthRuntime(config, shared.auth);
  const upstreams = createUpstreamRuntimes(config.upstreams, shared.upstreams);
  return {
    upstream: (_u, index) => upstreams[index]!,
    limits,
    auth,
    identityHeaders: auth.identityHeaders,
    async ready(timeoutMs) {
      const bound = Bun.sleep(timeoutMs);
      await Promise.all([limits.whenReady(timeoutMs), Promise.race([auth.ready().catch(() => {}), bound])]);
    },
    dispose() {
      void limits.close();
      void auth.close();
    },
  };
}

/** The route's policies in request order: access → limits. */
export function buildPolicies(route: RouteConfig, config: GatewayConfig, runtimes: Runtimes): Policy[] {
  const out: Policy[] = [];
  const auth = createAuthPolicy(route, runtimes.auth);
  if (auth) out.push(auth);
  const limit = createRateLimitPolicy(route, config.consumers, runtimes.limits);
  if (limit) out.push(limit);
  return out;
}
