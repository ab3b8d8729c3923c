/**
 * The metrics policy: first in the pre-route stage, so every request is
 * counted, 404s, 405s and refusals included (WAVE.md recipe). Its shared
 * memory is the process's one metrics buffer (src/metrics/registry.ts), made
 * once and kept across reloads; setup() attaches it so policies and plugins
 * reach it with metricsRegistry().
 */
import type { GatewayConfig } from "../../config/types.ts";
import { allocateMetrics, attachMetrics } from "../../metrics/registry.ts";
import { RequestMetrics } from "../../metrics/request-metrics.ts";
import type { AccessEntry, RequestContext } from "../context.ts";
import { definePolicy, knownBody, type Policy } from "../types.ts";
import { metricsSectionKeys, normalizeMetrics } from "./config.ts";

export const metrics = definePolicy<RequestMetrics>({
  name: "metrics",
  sectionKeys: metricsSectionKeys,
  normalizeSections(ctx, doc, config) {
    return { metrics: normalizeMetrics(ctx, doc.metrics as { listen?: string; path?: string } | undefined, (doc.admin ?? null) !== null || config.admin != null) };
  },
  // One buffer for the life of the process: a reload must not reset a counter (Prometheus would see a restart).
  share: (_config, previous) => previous?.buffer ?? allocateMetrics(),
  setup(_config: GatewayConfig, buffer) {
    return new RequestMetrics(buffer === null ? attachMetrics(allocateMetrics()) : attachMetrics(buffer));
  },
  preRoute(m): Policy {
    return {
      name: "metrics",
      onResponse(ctx: RequestContext, res: Response) {
        m.responded(ctx, res, knownBody(res));
      },
      onLog(ctx: RequestContext, entry: AccessEntry) {
        m.logged(ctx, entry);
      },
    };
  },
});
