import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseTraceparent } from "../../src/tracing/trace-context.ts";
import { startGateway, type GatewayProcess } from "../helpers/gateway.ts";
import { headerOf, startRecordingUpstream, type RecordingUpstream } from "../helpers/recording-upstream.ts";
import { until } from "../helpers/wait.ts";

const TID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PID = "00f067aa0ba902b7";

function config(port: number, tracing: string): string {
  return `
[server]
listen = "127.0.0.1:0"
access_log = true
${tracing}
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${port}" }]
[[routes]]
name = "r"
path = "/*"
upstream = "u"
`;
}

describe("W3C traceparent through a real upstream", () => {
  let up: RecordingUpstream;
  let gw: GatewayProcess;
  beforeAll(async () => {
    up = startRecordingUpstream();
    gw = await startGateway(config(up.port, ""));
  });
  afterAll(async () => {
    await gw?.stop();
    up?.stop();
  });

  test("the client's trace id goes on with a new span id, tracestate with it; the log has the trace id", async () => {
    await (await fetch(`${gw.url}/a`, { headers: { traceparent: `00-${TID}-${PID}-01`, tracestate: "rojo=00f067aa0ba902b7" } })).text();
    const head = up.requests.at(-1)!.head;
    const sent = parseTraceparent(headerOf(head, "traceparent"))!;
    expect(sent.traceId).toBe(TID);
    expect(sent.parentId).not.toBe(PID);
    expect(sent.sampled).toBe(true);
    expect(headerOf(head, "tracestate")).toBe("rojo=00f067aa0ba902b7");
    await until("the access-log line", () => gw.stdout().includes(TID));
    const line = JSON.parse(gw.stdout().split("\n").find((l) => l.includes(TID))!);
    expect(line.trace_id).toBe(TID);
    expect(line.span_id).toMatch(/^[0-9a-f]{16}$/);
    expect(typeof line.upstream_ms).toBe("number");
    expect(line.bytes_out).toBeGreaterThan(0);
  });

  test("without one (or with a broken one) a new trace starts; a broken one's tracestate is not passed on", async () => {
    await (await fetch(`${gw.url}/b`)).text();
    const a = parseTraceparent(headerOf(up.requests.at(-1)!.head, "traceparent"))!;
    expect(a.traceId).toMatch(/^[0-9a-f]{32}$/);
    await (await fetch(`${gw.url}/c`, { headers: { traceparent: "00-zz-bad-01", tracestate: "rojo=1" } })).text();
    const head = up.requests.at(-1)!.head;
    const b = parseTraceparent(headerOf(head, "traceparent"))!;
    expect(b.traceId).not.toBe(a.traceId);
    expect(headerOf(head, "tracestate")).toBeNull();
  });
});

test('accept = "trusted_proxies": a trusted peer\'s traceparent (and tracestate) is kept', async () => {
  const up = startRecordingUpstream();
  const gw = await startGateway(config(up.port, `trusted_proxies = ["127.0.0.1/32"]\n[tracing]\naccept = "trusted_proxies"\nsample_ratio = 0.0`));
  try {
    await (await fetch(`${gw.url}/a`, { headers: { traceparent: `00-${TID}-${PID}-01`, tracestate: "rojo=1" } })).text();
    const head = up.requests.at(-1)!.head;
    const sent = parseTraceparent(headerOf(head, "traceparent"))!;
    expect(sent.traceId).toBe(TID);
    expect(sent.parentId).not.toBe(PID);
    // The client's sampled flag wins over sample_ratio = 0.
    expect(sent.sampled).toBe(true);
    expect(headerOf(head, "tracestate")).toBe("rojo=1");
  } finally {
    await gw.stop();
    up.stop();
  }
});

test('accept = "trusted_proxies": a traceparent from an untrusted peer starts a new trace', async () => {
  const up = startRecordingUpstream();
  const gw = await startGateway(config(up.port, `trusted_proxies = ["10.0.0.0/8"]\n[tracing]\naccept = "trusted_proxies"\nsample_ratio = 0.0`));
  try {
    await (await fetch(`${gw.url}/a`, { headers: { traceparent: `00-${TID}-${PID}-01`, tracestate: "rojo=1" } })).text();
    const head = up.requests.at(-1)!.head;
    const sent = parseTraceparent(headerOf(head, "traceparent"))!;
    expect(sent.traceId).not.toBe(TID);
    expect(sent.sampled).toBe(false);
    expect(headerOf(head, "tracestate")).toBeNull();
    // The log's trace id is the one sent upstream, not the client's.
    await until("the access-log line", () => gw.stdout().includes(sent.traceId));
    expect(gw.stdout()).not.toContain(TID);
  } finally {
    await gw.stop();
    up.stop();
  }
});

test("propagate = false: the gateway adds nothing", async () => {
  const up = startRecordingUpstream();
  const gw = await startGateway(config(up.port, `[tracing]\npropagate = false`));
  try {
    await (await fetch(`${gw.url}/a`)).text();
    expect(headerOf(up.requests.at(-1)!.head, "traceparent")).toBeNull();
  } finally {
    await gw.stop();
    up.stop();
  }
});

test("an aggregate's calls each carry the trace with a parent id of their own", async () => {
  const up = startRecordingUpstream();
  const gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${up.port}" }]
[[routes]]
name = "dash"
path = "/dash"
[[routes.aggregate]]
upstream = "u"
path = "/one"
as = "one"
[[routes.aggregate]]
upstream = "u"
path = "/two"
as = "two"
`);
  try {
    expect((await fetch(`${gw.url}/dash`, { headers: { traceparent: `00-${TID}-${PID}-01`, tracestate: "rojo=1" } })).status).toBe(200);
    const sent = ["/one", "/two"].map((p) => up.requests.find((r) => r.head.startsWith(`GET ${p} `))!.head);
    const parents = sent.map((h) => parseTraceparent(headerOf(h, "traceparent"))!);
    expect(parents.map((p) => p.traceId)).toEqual([TID, TID]);
    expect(parents[0]!.parentId).not.toBe(parents[1]!.parentId);
    expect(parents.every((p) => p.parentId !== PID)).toBe(true);
    expect(sent.map((h) => headerOf(h, "tracestate"))).toEqual(["rojo=1", "rojo=1"]);
  } finally {
    await gw.stop();
    up.stop();
  }
});
