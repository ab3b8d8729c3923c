/**
 * Metrics on every request. Run: bun bench/metrics.bench.ts
 * (mitata's first bench runs while the JIT warms up: the 404 case goes first.)
 *
 * "per request" is the metrics policy's two hooks as the handler calls them
 * on a proxied request (onResponse: body size; onLog: requests_total, the
 * duration histogram, request bytes, the upstream histogram), on the shared
 * buffer; "unrouted" is a 404. Budget (shared/DESIGN.md): < 0.3 µs per request.
 */
import { bench, do_not_optimize, run, summary } from "mitata";
import { metrics } from "../src/policies/metrics/index.ts";
import { allocateMetrics } from "../src/metrics/registry.ts";
import type { AccessEntry } from "../src/policies/context.ts";
import type { GatewayConfig, RouteConfig } from "../src/config/types.ts";
import { testContext } from "../test/helpers/context.ts";

const buffer = allocateMetrics();
const setup = metrics.setup!({} as GatewayConfig, buffer);
const policy = metrics.preRoute!(setup, {} as GatewayConfig)!;
const route = { name: "users", upstream: "users" } as RouteConfig;
const ctx = testContext({ route, headers: { "content-length": "120" } });
ctx.target = "http://127.0.0.1:3001";
ctx.upstreamMs = 1.7;
const res = new Response("x".repeat(300), { headers: { "content-length": "300" } });
const post = testContext({ route, method: "POST", headers: { "content-length": "120" } });
post.target = "http://127.0.0.1:3001";
post.upstreamMs = 1.7;
const unrouted = testContext({});
unrouted.route = null;
const notFound = new Response("{}", { status: 404, headers: { "content-length": "2" } });

const entry = (status: number): AccessEntry => ({ request_id: "r", method: "GET", path: "/", status, duration_ms: 2.3, client_ip: "127.0.0.1", route: "users", target: null, tries: 1, error: undefined, upstream_ms: undefined, bytes_out: undefined });

summary(() => {
  bench("metrics per request (404, unrouted)", () => {
    const e = entry(404);
    policy.onResponse!(unrouted, notFound, null);
    policy.onLog!(unrouted, e);
    do_not_optimize(e);
  });
  bench("proxied: onResponse alone", () => {
    policy.onResponse!(ctx, res, null);
  });
  bench("proxied: onLog alone", () => {
    const e = entry(200);
    policy.onLog!(ctx, e);
    do_not_optimize(e);
  });
  bench("metrics per request (proxied, 200, streamed: Content-Length read)", () => {
    const e = entry(200);
    ctx.bytesOut = -1;
    policy.onResponse!(ctx, res, null);
    policy.onLog!(ctx, e);
    do_not_optimize(e);
  });
  bench("metrics per request (proxied POST: request Content-Length read, bytes_in)", () => {
    const e = entry(200);
    post.bytesOut = -1;
    policy.onResponse!(post, res, null);
    policy.onLog!(post, e);
    do_not_optimize(e);
  });
  bench("baseline: the access entry alone", () => {
    do_not_optimize(entry(200));
  });
});

await run();
