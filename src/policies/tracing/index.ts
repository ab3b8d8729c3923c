/**
 * W3C Trace Context, in the pre-route stage (so 404s carry a trace id in the
 * log too): the client's traceparent believed from anyone or only from
 * server.trusted_proxies (`[tracing] accept`), a new trace started when there
 * is none (sampled at sample_ratio), a new span id sent upstream on every try
 * (the proxy writes the fields itself: traceHeaderLines, so no route needs a draft for them),
 * the trace id in the access-log line.
 */
import type { GatewayConfig } from "../../config/types.ts";
import { cleanTracestate, newSpanId, newTraceId, parseTraceparent, type TraceState } from "../../tracing/trace-context.ts";
import { OtlpExporter } from "../../tracing/otlp.ts";
import { metricsRegistry } from "../../metrics/registry.ts";
import { compileCidrs, type CidrSet } from "../../util/cidr.ts";
import type { AccessEntry, RequestContext } from "../context.ts";
import { definePolicy, type Policy } from "../types.ts";
import { normalizeTracing, tracingSectionKeys, type TracingConfig } from "./config.ts";

interface TracingSetup {
  config: TracingConfig;
  trusted: CidrSet | null;
  exporter: OtlpExporter | null;
}

/** One exporter per worker and URL, kept across reloads (its queue and timer outlive a snapshot). */
const exporters = new Map<string, OtlpExporter>();

function exporterFor(url: string): OtlpExporter {
  let e = exporters.get(url);
  if (e === undefined) {
    // The metrics policy set up first (PRE_ROUTE order): this is the shared registry.
    const spans = metricsRegistry().counter("gateway_tracing_spans_total", "Spans handed to the OTLP exporter, by outcome", ["outcome"]);
    const exported = spans.labels(["exported"]);
    const dropped = spans.labels(["dropped"]);
    e = new OtlpExporter(url, { exported: (n) => exported.inc(n), dropped: (n) => dropped.inc(n) });
    exporters.set(url, e);
  }
  return e;
}

export function traceOf(ctx: RequestContext): TraceState | undefined {
  return ctx.trace ?? undefined;
}

function newState(traceId: string, parentId: string | null, sampled: boolean, tracestate: string | null, exporting: boolean): TraceState {
  return { traceId, parentId, spanId: newSpanId(), sampled, tracestate, upstreamSpanId: null, tries: null, record: exporting && sampled };
}

export const tracing = definePolicy<TracingSetup>({
  name: "tracing",
  sectionKeys: tracingSectionKeys,
  normalizeSections(ctx, doc) {
    return { tracing: normalizeTracing(ctx, doc.tracing as Partial<TracingConfig> | undefined) };
  },
  setup(config: GatewayConfig) {
    const t = config.tracing ?? normalizeTracing({ problems: null as never, configDir: "" }, undefined);
    return {
      config: t,
      trusted: t.accept === "trusted_proxies" ? compileCidrs(config.server.trusted_proxies) : null,
      exporter: t.otlp_url === null ? null : exporterFor(t.otlp_url),
    };
  },
  preRoute({ config, trusted, exporter }): Policy | null {
    if (!config.propagate) return null;
    const ratio = config.sample_ratio;
    return {
      name: "tracing",
      onRequest(ctx: RequestContext) {
        const h = ctx.req.headers;
        const believed = trusted === null || trusted.has(ctx.peerIp);
        const incoming = believed ? parseTraceparent(h.get("traceparent")) : null;
        ctx.trace =
          incoming === null
            ? newState(newTraceId(), null, ratio >= 1 || Math.random() < ratio, null, exporter !== null)
            : newState(incoming.traceId, incoming.parentId, incoming.sampled, cleanTracestate(h.get("tracestate")), exporter !== null);
        return undefined;
      },
      onLog(ctx: RequestContext, entry: AccessEntry) {
        const t = ctx.trace;
        if (t === null) return;
        entry.trace_id = t.traceId;
        entry.span_id = t.spanId;
        // One server span per request (OpenTelemetry HTTP semantic conventions), queued for the batch sender.
        if (exporter !== null && t.sampled) {
          const route = ctx.route?.name ?? null;
          const attributes: [string, string | number][] = [
            ["http.request.method", ctx.method],
            ["url.path", entry.path],
            ["http.response.status_code", entry.status],
            ["client.address", ctx.clientIp],
          ];
          if (route !== null) attributes.push(["http.route", ctx.route!.path]);
          if (ctx.target !== null) attributes.push(["gateway.upstream.target", ctx.target]);
          exporter.add({
            traceId: t.traceId,
            spanId: t.spanId,
            parentSpanId: t.parentId,
            name: route === null ? ctx.method : `${ctx.method} ${ctx.route!.path}`,
            kind: 2,
            startMs: ctx.start,
            endMs: ctx.start + entry.duration_ms,
            attributes,
            error: entry.status >= 500,
          });
          // One client span per upstream try, children of the server span (OpenTelemetry HTTP client spans).
          const tries = t.tries;
          if (tries !== null) {
            for (let k = 0; k < tries.length; k++) {
              const u = tries[k]!;
              const attrs: [string, string | number][] = [
                ["http.request.method", ctx.method],
                ["url.full", `${u.target}${entry.path}`],
                ["gateway.upstream.target", u.target],
              ];
              if (k > 0) attrs.push(["http.request.resend_count", k]);
              if (u.status > 0) attrs.push(["http.response.status_code", u.status]);
              if (u.error !== null) attrs.push(["error.type", u.error]);
              exporter.add({
                traceId: t.traceId,
                spanId: u.spanId,
                parentSpanId: t.spanId,
                name: ctx.method,
                kind: 3,
                startMs: u.startMs,
                endMs: u.endMs,
                attributes: attrs,
                error: u.error !== null || u.status >= 500,
              });
            }
          }
        }
      },
    };
  },
});
