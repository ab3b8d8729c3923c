/**
 * Serving the Prometheus text (`[metrics]`): on its own listener, or as a
 * route of the admin API (`listen = "admin"`, behind its bearer token). One
 * scrape reads the shared metrics buffer (every worker's counts) plus the
 * upstream state of this moment; the main thread does it, never a worker.
 */
import type { AdminApi } from "./admin-api.ts";
import type { MetricsConfig } from "../policies/metrics/config.ts";
import { cacheExposition, targetExposition } from "../metrics/control-metrics.ts";
import { CONTENT_TYPE, exposition } from "../metrics/exposition.ts";
import type { SharedMetrics } from "../metrics/registry.ts";
import type { StoreStats } from "../store/index.ts";
import type { UpstreamSnapshot } from "../upstream/index.ts";

export interface MetricsSource {
  metrics(): SharedMetrics;
  upstreams(): UpstreamSnapshot[];
  /** The cache arena's figures (null: no route has a cache). */
  cache?(): StoreStats | null;
}

export function scrape(src: MetricsSource): string {
  return exposition(src.metrics()) + targetExposition(src.upstreams()) + cacheExposition(src.cache?.() ?? null);
}

/** `[metrics] listen = "host:port"`: a Bun server of its own on the main thread. */
export function startMetricsServer(cfg: MetricsConfig, src: MetricsSource): { port: number; stop(): void } {
  const server = Bun.serve({
    hostname: cfg.host!,
    port: cfg.port,
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (path !== cfg.path) return new Response("not found\n", { status: 404 });
      if (req.method !== "GET" && req.method !== "HEAD") return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
      return new Response(scrape(src), { headers: { "content-type": CONTENT_TYPE } });
    },
  });
  return {
    port: server.port ?? cfg.port,
    stop: () => void server.stop(true),
  };
}

/** `[metrics] listen = "admin"`: the same text as an endpoint of the admin API (behind its token). */
export function addMetricsRoutes(api: AdminApi, cfg: MetricsConfig | null | undefined, src: MetricsSource | undefined): void {
  if (!cfg || cfg.listen !== "admin" || src === undefined) return;
  api.add({
    method: "get", path: cfg.path, tag: "status", summary: "Prometheus metrics (text exposition 0.0.4) of every worker",
    responses: { 200: { description: "metrics", contentType: CONTENT_TYPE } },
    handler: ({ set }) => {
      set.headers["content-type"] = CONTENT_TYPE;
      return scrape(src);
    },
  });
}
