/**
 * Tracing on the request path. Run: bun bench/tracing.bench.ts
 * What tracing adds to a proxied request: the policy's onRequest (parse or
 * start a trace), the proxy's traceHeaderLines (a new span id, the header
 * lines of the upstream head), the policy's onLog (ids into the entry); with
 * and without an incoming traceparent, and with an OTLP exporter queueing the
 * server and client spans (its timer sends nowhere during the run: the URL is
 * a closed port, and the interval is 1 s). "off" is propagate = false: no
 * policy at all, so only the entry is made.
 */
import { bench, do_not_optimize, run, summary } from "mitata";
import type { GatewayConfig } from "../src/config/types.ts";
import type { AccessEntry } from "../src/policies/context.ts";
import { tracing } from "../src/policies/tracing/index.ts";
import { traceHeaderLines } from "../src/tracing/trace-context.ts";
import { testContext } from "../test/helpers/context.ts";

const base = { server: { trusted_proxies: [] } } as unknown as GatewayConfig;
const off = tracing.preRoute!(tracing.setup!({ ...base, tracing: { propagate: true, accept: "any", otlp_url: null, sample_ratio: 1 } }, null), base)!;
const otlpSetup = tracing.setup!({ ...base, tracing: { propagate: true, accept: "any", otlp_url: "http://127.0.0.1:1/v1/traces", sample_ratio: 1 } }, null);
const otlp = tracing.preRoute!(otlpSetup, base)!;
// The sender's timer cannot run inside mitata's loop: empty the queue ourselves, or past 4096 spans every
// add() would take the cheap "queue full, dropped" path and the figure would be the drop's, not the queue's.
const exporter = otlpSetup.exporter!;
let n = 0;
const withParent = testContext({ headers: { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" } });
const fresh = testContext({});
const entry = (): AccessEntry => ({ request_id: "r", method: "GET", path: "/", status: 200, duration_ms: 1, client_ip: "", route: null, target: null, tries: 1 });

function once(p: typeof off, ctx: typeof fresh) {
  const e = entry();
  p.onRequest!(ctx);
  const t = ctx.trace!;
  do_not_optimize(traceHeaderLines(t));
  // The proxy records the try for the client span when the trace is exported (src/data/proxy).
  if (t.record) (t.tries ??= []).push({ spanId: t.upstreamSpanId!, target: "http://127.0.0.1:3001", startMs: 0, endMs: 1, status: 200, error: null });
  p.onLog!(ctx, e);
  do_not_optimize(e);
}

summary(() => {
  bench("warm-up (JIT)", () => once(off, fresh));
  bench("tracing off (propagate = false): the entry alone", () => do_not_optimize(entry()));
  bench("tracing: new trace", () => once(off, fresh));
  bench("tracing: client traceparent kept", () => once(off, withParent));
  bench("tracing + OTLP: server and client span queued", () => {
    once(otlp, fresh);
    if ((++n & 1023) === 0) exporter.drain();
  });
});
await run();
process.exit(0);
