import { afterAll, beforeAll, expect, test } from "bun:test";
import { startGateway, type GatewayProcess } from "../helpers/gateway.ts";
import { startRecordingUpstream, type RecordingUpstream } from "../helpers/recording-upstream.ts";
import { until } from "../helpers/wait.ts";

// Issue 14: the access-log line says upstream time, bytes, cache status, the limit decision and the trace id.
const TID = "4bf92f3577b34da6a3ce929d0e0e4736";
let up: RecordingUpstream;
let gw: GatewayProcess;

beforeAll(async () => {
  up = startRecordingUpstream({
    "/cached/a": "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncache-control: max-age=60\r\ncontent-length: 5\r\n\r\nhello",
  });
  gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
access_log = true
[cache]
size = "4MB"
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${up.port}" }]
[[routes]]
name = "limited"
path = "/limited/*"
upstream = "u"
rate_limits = [{ algorithm = "fixed_window", limit = 1, window = "1m", key = "ip" }]
[[routes]]
name = "cached"
path = "/cached/*"
upstream = "u"
cache = {}
`);
});
afterAll(async () => {
  await gw?.stop();
  up?.stop();
});

const lines = () =>
  gw
    .stdout()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test("a proxied POST: upstream time, bytes in and out, the limit decision, the trace id; the refused one says rejected", async () => {
  const body = "0123456789abcdef";
  const r = await fetch(`${gw.url}/limited/x?secret=1`, { method: "POST", body, headers: { traceparent: `00-${TID}-00f067aa0ba902b7-01` } });
  const answer = await r.text();
  expect(r.status).toBe(200);
  expect((await fetch(`${gw.url}/limited/y`, { method: "POST", body })).status).toBe(429);
  await until("2 lines", () => lines().filter((l) => l.route === "limited").length === 2);
  const [ok, refused] = lines().filter((l) => l.route === "limited");
  expect(ok).toMatchObject({ method: "POST", path: "/limited/x", status: 200, bytes_in: 16, bytes_out: answer.length, rate_limit: "allowed", trace_id: TID });
  expect(ok!.upstream_ms).toBeGreaterThan(0);
  expect(ok!.upstream_ms as number).toBeLessThanOrEqual(ok!.duration_ms as number);
  expect(ok!.span_id).toMatch(/^[0-9a-f]{16}$/);
  expect(JSON.stringify(ok)).not.toContain("secret");
  expect(refused).toMatchObject({ status: 429, rate_limit: "rejected", bytes_in: 16 });
  expect(refused!.upstream_ms).toBeUndefined();
  expect(refused!.trace_id).toMatch(/^[0-9a-f]{32}$/);
});

test("a cached route: miss, then hit (no upstream time), each with its bytes", async () => {
  for (let i = 0; i < 2; i++) expect(await (await fetch(`${gw.url}/cached/a`)).text()).toBe("hello");
  await until("2 lines", () => lines().filter((l) => l.route === "cached").length === 2);
  const [miss, hit] = lines().filter((l) => l.route === "cached");
  expect(miss).toMatchObject({ cache: "miss", bytes_out: 5, status: 200 });
  expect(typeof miss!.upstream_ms).toBe("number");
  expect(hit).toMatchObject({ cache: "hit", bytes_out: 5, status: 200 });
  expect(hit!.upstream_ms).toBeUndefined();
  expect(hit!.bytes_in).toBeUndefined();
});
