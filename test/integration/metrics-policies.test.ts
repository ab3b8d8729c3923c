import { afterAll, beforeAll, expect, test } from "bun:test";
import { startGateway, type GatewayProcess } from "../helpers/gateway.ts";
import { freePort } from "../helpers/ports.ts";
import { parsePrometheus, valueOf } from "../helpers/prometheus.ts";
import { startRecordingUpstream, type RecordingUpstream } from "../helpers/recording-upstream.ts";
import { until } from "../helpers/wait.ts";

// Counters of what policies decide (issue 14): rate-limit decisions per route and limit,
// auth refusals by reason, upstream retries, requests in flight per worker; 2 workers, one scrape.
const KEY = "k-metrics-0123456789abcdef";
let up: RecordingUpstream;
let gw: GatewayProcess;
let dead: number;

beforeAll(async () => {
  up = startRecordingUpstream();
  dead = await freePort(); // nothing listens: every try there is a connect failure
  gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
workers = 2
access_log = true
[metrics]
listen = "127.0.0.1:0"
[[consumers]]
name = "partner"
api_keys = ["${KEY}"]
roles = ["reader"]
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${up.port}" }]
[[upstreams]]
name = "half"
balancer = "round_robin"
retries = 1
targets = [{ url = "http://127.0.0.1:${dead}" }, { url = "http://127.0.0.1:${up.port}" }]
[[routes]]
name = "limited"
path = "/limited/*"
upstream = "u"
rate_limits = [{ algorithm = "fixed_window", limit = 5, window = "1m", key = "ip" }]
[[routes]]
name = "secure"
path = "/secure/*"
upstream = "u"
auth = "api_key"
[[routes]]
name = "admins"
path = "/admins/*"
upstream = "u"
auth = "api_key"
roles = ["admin"]
[[routes]]
name = "half"
path = "/half/*"
upstream = "half"
`);
}, 30_000);
afterAll(async () => {
  await gw?.stop();
  up?.stop();
});

const scrape = async () => parsePrometheus(await (await fetch(gw.metricsUrl!)).text());
const logLines = (route: string) =>
  gw
    .stdout()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.route === route);
const statusOf = async (path: string, headers: Record<string, string> = {}) => {
  const res = await fetch(`${gw.url}${path}`, { headers: { connection: "close", ...headers } });
  await res.arrayBuffer();
  return res.status;
};

test("rate-limit decisions per route and limit id, allowed and rejected, summed over workers", async () => {
  const codes: number[] = [];
  for (let i = 0; i < 8; i++) codes.push(await statusOf(`/limited/${i}`));
  expect(codes.filter((c) => c === 200)).toHaveLength(5);
  expect(codes.filter((c) => c === 429)).toHaveLength(3);
  const fams = await scrape();
  expect(valueOf(fams, "gateway_rate_limit_decisions_total", { route: "limited", limit: "limited#0", result: "allowed" })).toBe(5);
  expect(valueOf(fams, "gateway_rate_limit_decisions_total", { route: "limited", limit: "limited#0", result: "rejected" })).toBe(3);
  // The access log says the decision too.
  await until("8 access-log lines", () => logLines("limited").length === 8);
  const decisions = logLines("limited").map((l) => l.rate_limit);
  expect(decisions.filter((d) => d === "allowed")).toHaveLength(5);
  expect(decisions.filter((d) => d === "rejected")).toHaveLength(3);
  // A route without limits has no such field.
  expect(await statusOf("/half/log")).toBe(200);
  await until("the /half/log line", () => logLines("half").some((l) => l.path === "/half/log"));
  expect(logLines("half").find((l) => l.path === "/half/log")!.rate_limit).toBeUndefined();
});

test("auth refusals by reason: missing, invalid key, forbidden; an admitted request counts nothing", async () => {
  expect(await statusOf("/secure/a")).toBe(401);
  expect(await statusOf("/secure/a")).toBe(401);
  expect(await statusOf("/secure/b", { "x-api-key": "wrong-key" })).toBe(401);
  expect(await statusOf("/secure/c", { "x-api-key": KEY })).toBe(200);
  expect(await statusOf("/admins/d", { "x-api-key": KEY })).toBe(403);
  const fams = await scrape();
  expect(valueOf(fams, "gateway_auth_failures_total", { route: "secure", reason: "missing" })).toBe(2);
  expect(valueOf(fams, "gateway_auth_failures_total", { route: "secure", reason: "invalid_api_key" })).toBe(1);
  expect(valueOf(fams, "gateway_auth_failures_total", { route: "secure" })).toBe(3);
  expect(valueOf(fams, "gateway_auth_failures_total", { route: "admins", reason: "forbidden" })).toBe(1);
});

test("a connect failure retried on the other target is counted per upstream; the client sees 200", async () => {
  const codes: number[] = [];
  for (let i = 0; i < 6; i++) codes.push(await statusOf(`/half/${i}`));
  expect(codes.every((c) => c === 200)).toBe(true);
  const retries = valueOf(await scrape(), "gateway_upstream_retries_total", { upstream: "half" });
  // Round robin over 2 targets: about half the requests tried the dead one first (per worker, so not exactly 3).
  expect(retries).toBeGreaterThanOrEqual(1);
  expect(retries).toBeLessThanOrEqual(6);
  expect(valueOf(await scrape(), "gateway_upstream_retries_total", { upstream: "u" })).toBe(0);
});

test("requests in flight per worker: a gauge per worker, sampled each second", async () => {
  await until("both workers sampled", async () => (await scrape()).get("gateway_in_flight_requests")?.samples.length === 2, 5000);
  const samples = (await scrape()).get("gateway_in_flight_requests")!.samples;
  expect(samples.map((s) => s.labels.worker).sort()).toEqual(["0", "1"]);
  for (const s of samples) expect(s.value).toBeGreaterThanOrEqual(0);
});
