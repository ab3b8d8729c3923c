import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startGateway, type GatewayProcess } from "../helpers/gateway.ts";
import { parsePrometheus, valueOf } from "../helpers/prometheus.ts";
import { startRecordingUpstream, type RecordingUpstream } from "../helpers/recording-upstream.ts";

const TOKEN = "metrics-test-token";

describe("metrics across 4 workers", () => {
  let up: RecordingUpstream;
  let gw: GatewayProcess;
  beforeAll(async () => {
    up = startRecordingUpstream();
    gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
workers = 4

[admin]
listen = "127.0.0.1:0"
token = "${TOKEN}"

[metrics]
listen = "127.0.0.1:0"

[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${up.port}" }]

[[routes]]
name = "api"
path = "/api/*"
upstream = "u"
`);
  }, 30_000);
  afterAll(async () => {
    await gw?.stop();
    up?.stop();
  });

  test("one scrape counts every request of every worker, by route, method and code", async () => {
    const N = 200;
    // Separate connections so the kernel spreads them over the reusePort workers.
    const answers = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        fetch(`${gw.url}/api/${i}`, { method: i % 4 === 0 ? "POST" : "GET", body: i % 4 === 0 ? "hello" : undefined, headers: { connection: "close" } }),
      ),
    );
    for (const r of answers) await r.arrayBuffer();
    const misses = await Promise.all(Array.from({ length: 30 }, () => fetch(`${gw.url}/nowhere`, { headers: { connection: "close" } }).then((r) => r.text())));
    expect(misses).toHaveLength(30);
    const res = await fetch(gw.metricsUrl!);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const fams = parsePrometheus(await res.text());
    expect(valueOf(fams, "gateway_requests_total", { route: "api", method: "GET", code: "200" })).toBe(150);
    expect(valueOf(fams, "gateway_requests_total", { route: "api", method: "POST", code: "200" })).toBe(50);
    expect(valueOf(fams, "gateway_requests_total", { route: "_unmatched", code: "404" })).toBe(30);
    expect(valueOf(fams, "gateway_request_duration_seconds_count", { route: "api" })).toBe(N);
    expect(valueOf(fams, "gateway_request_duration_seconds_bucket", { route: "api", le: "10" })).toBe(N);
    expect(fams.get("gateway_request_duration_seconds")!.samples.filter((s) => s.name.endsWith("_bucket") && s.labels.route === "api").map((s) => s.labels.le)).toEqual(
      ["0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1", "2.5", "5", "7.5", "10", "+Inf"],
    );
    expect(valueOf(fams, "gateway_request_bytes_total", { route: "api" })).toBe(50 * 5);
    expect(valueOf(fams, "gateway_response_bytes_total", { route: "api" })).toBeGreaterThan(N * 20);
    const target = `http://127.0.0.1:${up.port}`;
    expect(valueOf(fams, "gateway_upstream_duration_seconds_count", { upstream: "u", target })).toBe(N);
    expect(valueOf(fams, "gateway_upstream_target_requests_total", { upstream: "u", target })).toBe(N);
    expect(valueOf(fams, "gateway_upstream_target_up", { upstream: "u", target })).toBe(1);
    expect(valueOf(fams, "gateway_upstream_target_breaker_state", { upstream: "u", target, state: "closed" })).toBe(1);
    expect(valueOf(fams, "gateway_workers")).toBe(4);
    expect(fams.get("gateway_build_info")!.samples[0]!.labels.version).toMatch(/^\d+\.\d+\.\d+/);
    // The paths never become labels: cardinality is the config's.
    expect(JSON.stringify([...fams.values()])).not.toContain("/api/1");
  }, 30_000);

  test("Prometheus' own parser and linter (promtool check metrics) accepts the scrape", async () => {
    await (await fetch(`${gw.url}/api/lint`, { method: "POST", body: "x" })).text();
    const text = await (await fetch(gw.metricsUrl!)).text();
    const p = Bun.spawn(["promtool", "check", "metrics"], { stdin: new Blob([text]), stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = [await new Response(p.stdout).text(), await new Response(p.stderr).text(), await p.exited];
    expect(out + err).toBe("");
    expect(code).toBe(0);
  });

  test("admin /status totals come from the same counters", async () => {
    const before = (await (await fetch(`${gw.adminUrl}/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as any;
    await (await fetch(`${gw.url}/api/x`)).text();
    await (await fetch(`${gw.url}/nowhere`)).text();
    const after = (await (await fetch(`${gw.adminUrl}/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as any;
    expect(after.requests.total - before.requests.total).toBe(2);
    expect(after.requests.success - before.requests.success).toBe(1);
    expect(after.requests.failed - before.requests.failed).toBe(1);
    expect(after.requests.routes.api.total).toBe(before.requests.routes.api.total + 1);
  });

  test("counters survive a reload, which is counted", async () => {
    const scrape = async () => parsePrometheus(await (await fetch(gw.metricsUrl!)).text());
    const before = await scrape();
    gw.signal("SIGHUP");
    for (let i = 0; i < 100 && valueOf(await scrape(), "gateway_config_reloads_total", { result: "success" }) < 1; i++) await Bun.sleep(50);
    const after = await scrape();
    expect(valueOf(after, "gateway_config_reloads_total", { result: "success" })).toBe(1);
    // The running config's load time moved forward to the reload.
    const loadedAt = valueOf(after, "gateway_config_last_reload_timestamp_seconds");
    expect(loadedAt).toBeGreaterThan(valueOf(before, "gateway_config_last_reload_timestamp_seconds"));
    expect(Math.abs(loadedAt - Date.now() / 1000)).toBeLessThan(10);
    expect(valueOf(after, "gateway_requests_total")).toBeGreaterThanOrEqual(valueOf(before, "gateway_requests_total"));
    expect(gw.stderr()).toContain('"event":"reload_accepted"');
  });

  test("the metrics listener answers only its path", async () => {
    const base = new URL(gw.metricsUrl!);
    expect((await fetch(`${base.origin}/other`)).status).toBe(404);
    expect((await fetch(gw.metricsUrl!, { method: "POST" })).status).toBe(405);
  });
});

describe('[metrics] listen = "admin"', () => {
  test("served by the admin listener behind its token", async () => {
    const up = startRecordingUpstream();
    const gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
[admin]
listen = "127.0.0.1:0"
token = "${TOKEN}"
[metrics]
listen = "admin"
path = "/prom"
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${up.port}" }]
[[routes]]
name = "r"
path = "/*"
upstream = "u"
`);
    try {
      await (await fetch(`${gw.url}/a`)).text();
      expect((await fetch(`${gw.adminUrl}/prom`)).status).toBe(401);
      const res = await fetch(`${gw.adminUrl}/prom`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
      const fams = parsePrometheus(await res.text());
      expect(valueOf(fams, "gateway_requests_total", { route: "r", method: "GET", code: "200" })).toBe(1);
    } finally {
      await gw.stop();
      up.stop();
    }
  });
});
