import { expect, test } from "bun:test";
import { startGateway } from "../helpers/gateway.ts";
import { parsePrometheus, valueOf } from "../helpers/prometheus.ts";
import { freePort } from "../helpers/ports.ts";
import { headerOf, startRecordingUpstream } from "../helpers/recording-upstream.ts";
import { until } from "../helpers/wait.ts";

const TID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PID = "00f067aa0ba902b7";

function config(upPort: number, otlp: string, targets = `[{ url = "http://127.0.0.1:${upPort}" }]`, extra = ""): string {
  return `
[server]
listen = "127.0.0.1:0"
workers = 2
[metrics]
listen = "127.0.0.1:0"
[tracing]
otlp_url = "${otlp}"
[[upstreams]]
name = "u"
targets = ${targets}
${extra}
[[routes]]
name = "users"
path = "/users/:id"
upstream = "u"
`;
}

const spansOf = (received: any[]) => received.flatMap((b) => b.resourceSpans.flatMap((r: any) => r.scopeSpans.flatMap((s: any) => s.spans)));
const attrsOf = (s: any) => Object.fromEntries(s.attributes.map((a: any) => [a.key, a.value.stringValue ?? a.value.intValue]));

test("one server span per request, and one client span per upstream try, reach a loopback OTLP/HTTP collector, batched, and is counted", async () => {
  const received: any[] = [];
  const collector = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      expect(new URL(req.url).pathname).toBe("/v1/traces");
      expect(req.headers.get("content-type")).toBe("application/json");
      received.push(await req.json());
      return Response.json({});
    },
  });
  const up = startRecordingUpstream();
  const gw = await startGateway(config(up.port, `http://127.0.0.1:${collector.port}/v1/traces`));
  try {
    await (await fetch(`${gw.url}/users/7`, { headers: { traceparent: `00-${TID}-${PID}-01` } })).text();
    for (let i = 0; i < 4; i++) await (await fetch(`${gw.url}/users/${i}`)).text();
    await (await fetch(`${gw.url}/users/unsampled`, { headers: { traceparent: `00-${"1".repeat(32)}-${PID}-00` } })).text();
    const all = () => spansOf(received);
    const spans = () => all().filter((x: any) => x.kind === 2);
    await until("10 spans at the collector", () => all().length >= 10, 8000);
    await Bun.sleep(1200);
    expect(spans()).toHaveLength(5); // the unsampled request sent none
    expect(all()).toHaveLength(10); // and each sampled one a client span
    const s = spans().find((x: any) => x.traceId === TID)!;
    expect(s.parentSpanId).toBe(PID);
    expect(s.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(s.kind).toBe(2);
    expect(s.name).toBe("GET /users/:id");
    expect(BigInt(s.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(s.startTimeUnixNano));
    expect(Number(BigInt(s.startTimeUnixNano) / 1_000_000n)).toBeGreaterThan(Date.now() - 60_000);
    const attr = Object.fromEntries(s.attributes.map((a: any) => [a.key, a.value.stringValue ?? a.value.intValue]));
    expect(attr["http.request.method"]).toBe("GET");
    expect(attr["http.route"]).toBe("/users/:id");
    expect(attr["http.response.status_code"]).toBe("200");
    // The client span: a child of the server span, and the parent the upstream was sent.
    const c = all().find((x: any) => x.traceId === TID && x.kind === 3)!;
    expect(c.parentSpanId).toBe(s.spanId);
    expect(c.name).toBe("GET");
    const sent = up.requests.find((r) => headerOf(r.head, "traceparent")?.includes(TID))!;
    expect(headerOf(sent.head, "traceparent")).toBe(`00-${TID}-${c.spanId}-01`);
    const cattr = attrsOf(c);
    expect(cattr["http.response.status_code"]).toBe("200");
    expect(cattr["gateway.upstream.target"]).toBe(`http://127.0.0.1:${up.port}`);
    expect(cattr["url.full"]).toBe(`http://127.0.0.1:${up.port}/users/7`);
    expect(cattr["http.request.resend_count"]).toBeUndefined();
    expect(BigInt(c.startTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(s.startTimeUnixNano));
    expect(BigInt(c.endTimeUnixNano)).toBeLessThanOrEqual(BigInt(s.endTimeUnixNano));
    expect(received[0].resourceSpans[0].resource.attributes[0]).toEqual({ key: "service.name", value: { stringValue: "gateway" } });
    const fams = parsePrometheus(await (await fetch(gw.metricsUrl!)).text());
    expect(valueOf(fams, "gateway_tracing_spans_total", { outcome: "exported" })).toBe(10);
  } finally {
    await gw.stop();
    up.stop();
    collector.stop(true);
  }
}, 20_000);

test("a collector that is down costs no request: its spans are dropped and counted", async () => {
  const dead = Bun.serve({ port: 0, fetch: () => new Response() });
  const port = dead.port;
  dead.stop(true);
  const up = startRecordingUpstream();
  const gw = await startGateway(config(up.port, `http://127.0.0.1:${port}/v1/traces`));
  try {
    for (let i = 0; i < 3; i++) expect((await fetch(`${gw.url}/users/${i}`)).status).toBe(200);
    let dropped = 0;
    await until("dropped spans counted", async () => {
      dropped = valueOf(parsePrometheus(await (await fetch(gw.metricsUrl!)).text()), "gateway_tracing_spans_total", { outcome: "dropped" });
      return dropped === 6;
    }, 8000);
    expect(dropped).toBe(6); // 3 server spans and their 3 client spans
  } finally {
    await gw.stop();
    up.stop();
  }
}, 20_000);

test("a retried request: one client span per try, the failed one with error.type, the resend with its count; the upstream's parent is the try's span", async () => {
  const received: any[] = [];
  const collector = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: async (req) => (received.push(await req.json()), Response.json({})) });
  const up = startRecordingUpstream();
  const dead = await freePort();
  const gw = await startGateway(
    config(up.port, `http://127.0.0.1:${collector.port}/v1/traces`, `[{ url = "http://127.0.0.1:${dead}", weight = 1000 }, { url = "http://127.0.0.1:${up.port}", weight = 1 }]`, "retries = 1\nbalancer = \"weighted\""),
  );
  try {
    const TID2 = "5bf92f3577b34da6a3ce929d0e0e4737";
    expect((await fetch(`${gw.url}/users/9`, { headers: { traceparent: `00-${TID2}-${PID}-01` } })).status).toBe(200);
    await until("3 spans", () => spansOf(received).filter((x: any) => x.traceId === TID2).length >= 3, 8000);
    const mine = spansOf(received).filter((x: any) => x.traceId === TID2);
    const server = mine.find((x: any) => x.kind === 2)!;
    const tries = mine.filter((x: any) => x.kind === 3).sort((a: any, b: any) => Number(BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano)));
    expect(tries).toHaveLength(2);
    expect(tries.every((t: any) => t.parentSpanId === server.spanId)).toBe(true);
    expect(tries[0].spanId).not.toBe(tries[1].spanId);
    expect(attrsOf(tries[0])["error.type"]).toBe("upstream_unreachable");
    expect(tries[0].status?.code).toBe(2);
    expect(attrsOf(tries[1])["http.request.resend_count"]).toBe("1");
    expect(attrsOf(tries[1])["http.response.status_code"]).toBe("200");
    const sent = up.requests.find((r) => headerOf(r.head, "traceparent")?.includes(TID2))!;
    expect(headerOf(sent.head, "traceparent")).toBe(`00-${TID2}-${tries[1].spanId}-01`);
  } finally {
    await gw.stop();
    up.stop();
    collector.stop(true);
  }
}, 20_000);
