/**
 * Tracing on the request path. Run: bun bench/tracing.bench.ts
 * The tracing policy's three hooks as a proxied request calls them: onRequest
 * (parse or start a trace), onUpstreamRequest (a new span id, the header
 * set on the draft), onLog (ids into the entry); with and without an incoming
 * traceparent, and with an OTLP exporter queueing the span (its timer sends
 * nowhere during the run: the URL is a closed port, and the interval is 1 s).
 */
import { bench, do_not_optimize, run, summary } from "mitata";
import type { GatewayConfig } from "../src/config/types.ts";
import type { AccessEntry, UpstreamDraft } from "../src/policies/context.ts";
import { tracing } from "../src/policies/tracing/index.ts";
import { testContext } from "../test/helpers/context.ts";

const base = { server: { trusted_proxies: [] } } as unknown as GatewayConfig;
const off = tracing.preRoute!(tracing.setup!({ ...base, tracing: { propagate: true, accept: "any", otlp_url: null, sample_ratio: 1 } }, null), base)!;
const otlp = tracing.preRoute!(tracing.setup!({ ...base, tracing: { propagate: true, accept: "any", otlp_url: "http://127.0.0.1:1/v1/traces", sample_ratio: 1 } }, null), base)!;
const headers = new Map<string, string>();
const draft = { setHeader: (k: string, v: string) => headers.set(k, v), removeHeader: (k: string) => headers.delete(k) } as unknown as UpstreamDraft;
const withParent = testContext({ headers: { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" } });
const fresh = testContext({});
const entry = (): AccessEntry => ({ request_id: "r", method: "GET", path: "/", status: 200, duration_ms: 1, client_ip: "", route: null, target: null, tries: 1 });

function once(p: typeof off, ctx: typeof fresh) {
  const e = entry();
  p.onRequest!(ctx);
  p.onUpstreamRequest!(ctx, draft);
  p.onLog!(ctx, e);
  do_not_optimize(e);
}

summary(() => {
  bench("warm-up (JIT)", () => once(off, fresh));
  bench("tracing: new trace", () => once(off, fresh));
  bench("tracing: client traceparent kept", () => once(off, withParent));
  bench("tracing + OTLP span queued", () => once(otlp, fresh));
});
await run();
process.exit(0);
