import type { GatewayConfig } from "../config/types.ts";
import type { SharedBuffers } from "../data/shared.ts";
import { FACTORIES } from "../policies/index.ts";
import type { PolicyControl } from "../policies/types.ts";
import { startHealthChecks, UpstreamStateView } from "../upstream/index.ts";
import { metricsRegistry } from "../metrics/registry.ts";

/** Main-thread services that feed the shared state: active health checks, and each policy's own (Redis sync, revocation sync). */
export interface ControlServices {
  /** A policy's service by recipe name ("auth": the revocation denylist), for the admin API; null when it has none. */
  control<T extends PolicyControl>(name: string): T | null;
  /** Per-target health, breaker and load, for the admin API and metrics. */
  upstreamState(): UpstreamStateView;
  /** Switch to a reloaded config and its buffers. */
  reload(config: GatewayConfig, shared: SharedBuffers): void;
  stop(): void;
}

export function startControlServices(config: GatewayConfig, shared: SharedBuffers): ControlServices {
  const controls = new Map<string, PolicyControl>();
  for (const f of FACTORIES) if (f.control) controls.set(f.name, f.control(config, shared.policies[f.name] ?? null));
  const checkHealth = (c: GatewayConfig, s: SharedBuffers) => {
    const view = new UpstreamStateView(s.upstreams, c.upstreams);
    const checks = startHealthChecks(c.upstreams, view, {
      onChange: (change) => {
        // Counted in the shared registry (attached by the gateway before any check has run) and logged as an event.
        const r = metricsRegistry();
        r.counter("gateway_upstream_health_changes_total", "Active health check state changes, by upstream, target and new state", ["upstream", "target", "state"]).inc([change.upstream, change.target, change.up ? "up" : "down"]);
        r.counter("gateway_events_total", "Control-plane events logged on stderr, by event", ["event"]).inc(["target_health_changed"]);
        console.error(JSON.stringify({ time: new Date().toISOString(), level: "warn", event: "target_health_changed", msg: "target health changed", ...change }));
      },
    });
    return { view, checks };
  };
  let health = checkHealth(config, shared);
  return {
    control: <T extends PolicyControl>(name: string) => (controls.get(name) as T | undefined) ?? null,
    upstreamState: () => health.view,
    reload(next, nextShared) {
      for (const [name, c] of controls) c.reload(next, nextShared.policies[name] ?? null);
      health.checks.stop();
      health = checkHealth(next, nextShared);
    },
    stop() {
      for (const c of controls.values()) c.stop();
      health.checks.stop();
    },
  };
}
