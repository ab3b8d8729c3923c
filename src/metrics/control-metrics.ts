/**
 * What the control plane (main thread) counts and exposes besides the
 * workers' request metrics: config reloads, worker restarts, build info, and
 * per-target upstream state read at scrape time from the upstream shared
 * buffer (health, breaker, in-flight, requests, failures, latency EWMA), so
 * nothing of it costs the request path.
 */
import type { StoreStats } from "../store/index.ts";
import type { UpstreamSnapshot } from "../upstream/index.ts";
import { formatValue } from "./exposition.ts";
import type { BoundCounter, BoundGauge, SharedRegistry } from "./registry.ts";

const BREAKER_STATES = ["closed", "open", "half_open"] as const;

export class ControlMetrics {
  readonly reloadOk: BoundCounter;
  readonly reloadFailed: BoundCounter;
  readonly reloadTime: BoundGauge;
  readonly workerRestarts: BoundCounter;
  readonly workers: BoundGauge;
  readonly #events;

  constructor(readonly registry: SharedRegistry, version: string) {
    const reloads = registry.counter("gateway_config_reloads_total", "Config reloads, by result", ["result"]);
    this.reloadOk = reloads.labels(["success"]);
    this.reloadFailed = reloads.labels(["failure"]);
    this.reloadTime = registry.gauge("gateway_config_last_reload_timestamp_seconds", "Unix time the running config was loaded").labels();
    this.workerRestarts = registry.counter("gateway_worker_restarts_total", "Worker threads replaced after an unexpected exit").labels();
    this.workers = registry.gauge("gateway_workers", "Worker threads serving").labels();
    this.#events = registry.counter("gateway_events_total", "Control-plane events logged on stderr, by event", ["event"]);
    registry.gauge("gateway_build_info", "Build information (always 1)", ["version", "bun"]).set([version, Bun.version], 1);
  }

  /** One control-plane event: counted, and written to stderr as one JSON line. */
  event(name: string, level: "info" | "warn" | "error", fields: Record<string, unknown> = {}): void {
    this.#events.inc([name]);
    console.error(JSON.stringify({ time: new Date().toISOString(), level, event: name, ...fields }));
  }
  // (src/metrics/events.ts controlEvent() does the same for engines' callers that hold no ControlMetrics.)
}

function esc(s: string): string {
  return s.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}

/** Per-target families in exposition text, from the upstream state snapshot of this scrape. */
export function targetExposition(upstreams: readonly UpstreamSnapshot[]): string {
  const fam = {
    up: "# HELP gateway_upstream_target_up Target available: health up, not passively down, breaker not open\n# TYPE gateway_upstream_target_up gauge\n",
    health: "# HELP gateway_upstream_target_healthy Active health check state (1 up)\n# TYPE gateway_upstream_target_healthy gauge\n",
    breaker: "# HELP gateway_upstream_target_breaker_state Circuit breaker state (1 for the current one)\n# TYPE gateway_upstream_target_breaker_state gauge\n",
    inflight: "# HELP gateway_upstream_target_in_flight Requests in flight to the target\n# TYPE gateway_upstream_target_in_flight gauge\n",
    requests: "# HELP gateway_upstream_target_requests_total Requests sent to the target\n# TYPE gateway_upstream_target_requests_total counter\n",
    failures: "# HELP gateway_upstream_target_failures_total Failed requests to the target (connect errors, timeouts, failure statuses)\n# TYPE gateway_upstream_target_failures_total counter\n",
    latency: "# HELP gateway_upstream_target_latency_ewma_seconds Moving average of the time to response head\n# TYPE gateway_upstream_target_latency_ewma_seconds gauge\n",
  };
  for (const u of upstreams) {
    for (const t of u.targets) {
      const l = `upstream="${esc(u.name)}",target="${esc(t.url)}"`;
      fam.up += `gateway_upstream_target_up{${l}} ${t.available ? 1 : 0}\n`;
      fam.health += `gateway_upstream_target_healthy{${l}} ${t.health === "up" ? 1 : 0}\n`;
      for (const s of BREAKER_STATES) fam.breaker += `gateway_upstream_target_breaker_state{${l},state="${s}"} ${t.breaker === s ? 1 : 0}\n`;
      fam.inflight += `gateway_upstream_target_in_flight{${l}} ${t.in_flight}\n`;
      fam.requests += `gateway_upstream_target_requests_total{${l}} ${t.requests}\n`;
      fam.failures += `gateway_upstream_target_failures_total{${l}} ${t.failures}\n`;
      fam.latency += `gateway_upstream_target_latency_ewma_seconds{${l}} ${formatValue(t.latency_ewma_ms / 1000)}\n`;
    }
  }
  return Object.values(fam).join("");
}

/** The response cache arena's families, read at scrape time from the shared arena (nothing on the request path); "" without a cached route. */
export function cacheExposition(s: StoreStats | null): string {
  if (s === null) return "";
  const fam = (name: string, type: "gauge" | "counter", help: string, v: number) => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${formatValue(v)}\n`;
  return (
    fam("gateway_cache_entries", "gauge", "Responses stored in the shared cache arena (expired ones until reclaimed)", s.entries) +
    fam("gateway_cache_bytes", "gauge", "Bytes of live cache records (key, metadata, body)", s.bytes) +
    fam("gateway_cache_capacity_bytes", "gauge", "Bytes the arena holds for records ([cache] size less its index)", s.capacity) +
    fam("gateway_cache_evictions_total", "counter", "Live entries evicted to make room", s.evictions) +
    fam("gateway_cache_expired_total", "counter", "Expired entries reclaimed", s.expired)
  );
}
