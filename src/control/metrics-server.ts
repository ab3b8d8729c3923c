/**
 * Serving the Prometheus text (`[metrics]`): on its own listener, or as a
 * route of the admin API (`listen = "admin"`, behind its bearer token). One
 * scrape reads the shared metrics buffer (every worker's counts) plus the
 * upstream state of this moment; the main thread does it, never a worker.
 */
import type { Elysia } from "elysia";
import type { MetricsConfig } from "../policies/metrics/config.ts";
import { targetExposition } from "../metrics/control-metrics.ts";
import { CONTENT_TYPE, exposition } from "../metrics/exposition.ts";
import type { SharedMetrics } from "../metrics/registry.ts";
import type { UpstreamSnapshot } from "../upstream/index.ts";

export interface MetricsSource {
  metrics(): SharedMetrics;
  upstreams(): UpstreamSnapshot[];
}

export function scrape(src: MetricsSource): string {
  return exposition(src.metrics()) + targetExposition(src.upstreams());
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

/** `[metrics] listen = "admin"`: the same text as a route of the admin app. */
export function metricsAdminRoutes<A extends Elysia<any, any, any, any, any, any, any>>(app: A, cfg: MetricsConfig | null | undefined, src: MetricsSource | undefined): A {
  if (!cfg || cfg.listen !== "admin" || src === undefined) return app;
  return app.get(cfg.path, ({ set }) => {
    set.headers["content-type"] = CONTENT_TYPE;
    return scrape(src);
  }) as unknown as A;
}
