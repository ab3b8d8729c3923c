import { parseListen } from "../../config/addresses.ts";
import type { NormalizeContext } from "../../config/normalize-common.ts";
import { NonEmpty, opt, table } from "../../config/schema-kit.ts";

/** `[metrics]`: where the Prometheus text is served. Without the section, metrics are still counted (admin /status reads them). */
export interface MetricsConfig {
  /** "host:port" of its own listener, or "admin": a route on the admin listener. */
  listen: string;
  /** Null when listen = "admin". */
  host: string | null;
  port: number;
  /** Starts with "/". */
  path: string;
}

export const MetricsSection = table({
  listen: opt(NonEmpty),
  path: opt(NonEmpty),
});

export const metricsSectionKeys = { metrics: opt(MetricsSection) };

export const METRICS_DEFAULTS = { listen: "127.0.0.1:9100", path: "/metrics" } as const;

export function normalizeMetrics(ctx: NormalizeContext, raw: { listen?: string; path?: string } | undefined, hasAdmin: boolean): MetricsConfig | null {
  if (raw === undefined) return null;
  const listen = raw.listen ?? METRICS_DEFAULTS.listen;
  const path = raw.path ?? METRICS_DEFAULTS.path;
  if (!path.startsWith("/") || /[?#\s]/.test(path)) ctx.problems.add(["metrics", "path"], `expected a path starting with "/" (no query), got ${JSON.stringify(path)}`);
  if (listen === "admin") {
    if (!hasAdmin) ctx.problems.add(["metrics", "listen"], `"admin" needs an [admin] section`);
    return { listen, host: null, port: 0, path };
  }
  const a = parseListen(listen);
  if (typeof a === "string") {
    ctx.problems.add(["metrics", "listen"], `${a}, or "admin"`);
    return { listen, host: null, port: 0, path };
  }
  return { listen, host: a.host, port: a.port, path };
}
