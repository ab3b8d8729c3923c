import { expect, test } from "bun:test";
import { startGateway } from "../helpers/gateway.ts";
import { parsePrometheus, valueOf } from "../helpers/prometheus.ts";
import { startRecordingUpstream } from "../helpers/recording-upstream.ts";
import { until } from "../helpers/wait.ts";

const TID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PID = "00f067aa0ba902b7";

function config(upPort: number, otlp: string): string {
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
targets = [{ url = "http://127.0.0.1:${upPort}" }]
[[routes]]
name = "users"
path = "/users/:id"
upstream = "u"
`;
}

test("one server span per request reaches a loopback OTLP/HTTP collector, batched, and is counted", async () => {
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
    const spans = () => received.flatMap((b) => b.resourceSpans.flatMap((r: any) => r.scopeSpans.flatMap((s: any) => s.spans)));
    await until("5 spans at the collector", () => spans().length >= 5, 8000);
    await Bun.sleep(1200);
    expect(spans()).toHaveLength(5); // the unsampled request sent none
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
    expect(received[0].resourceSpans[0].resource.attributes[0]).toEqual({ key: "service.name", value: { stringValue: "gateway" } });
    const fams = parsePrometheus(await (await fetch(gw.metricsUrl!)).text());
    expect(valueOf(fams, "gateway_tracing_spans_total", { outcome: "exported" })).toBe(5);
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
      return dropped === 3;
    }, 8000);
    expect(dropped).toBe(3);
  } finally {
    await gw.stop();
    up.stop();
  }
}, 20_000);
