import { expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startGateway } from "../helpers/gateway.ts";
import { parsePrometheus, valueOf } from "../helpers/prometheus.ts";
import { until } from "../helpers/wait.ts";

test("a target's health change is a JSON event on stderr and a counted metric; a refused reload too", async () => {
  const target = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("ok") });
  const url = `http://127.0.0.1:${target.port}`;
  const toml = `
[server]
listen = "127.0.0.1:0"
[metrics]
listen = "127.0.0.1:0"
[[upstreams]]
name = "u"
targets = [{ url = "${url}" }]
health_check = { path = "/health", interval = "100ms", timeout = "100ms", healthy = 1, unhealthy = 1 }
[[routes]]
name = "r"
path = "/*"
upstream = "u"
`;
  const gw = await startGateway(toml);
  try {
    target.stop(true);
    await until("the health event", () => gw.stderr().includes('"event":"target_health_changed"'), 5000);
    const line = JSON.parse(gw.stderr().split("\n").find((l) => l.includes('"event":"target_health_changed"'))!);
    expect(line).toMatchObject({ level: "warn", upstream: "u", target: url, up: false });
    const fams = parsePrometheus(await (await fetch(gw.metricsUrl!)).text());
    expect(valueOf(fams, "gateway_upstream_health_changes_total", { upstream: "u", target: url, state: "down" })).toBe(1);
    expect(valueOf(fams, "gateway_upstream_target_healthy", { upstream: "u", target: url })).toBe(0);
    expect(valueOf(fams, "gateway_events_total", { event: "target_health_changed" })).toBe(1);

    gw.writeConfig(toml + "\n[[routes]]\nname = 5\n");
    gw.signal("SIGHUP");
    await until("the refused reload", () => gw.stderr().includes('"event":"reload_refused"'), 5000);
    const after = parsePrometheus(await (await fetch(gw.metricsUrl!)).text());
    expect(valueOf(after, "gateway_config_reloads_total", { result: "failure" })).toBe(1);
    expect(valueOf(after, "gateway_events_total", { event: "reload_refused" })).toBe(1);
  } finally {
    await gw.stop();
  }
}, 20_000);

test("a worker that dies is replaced: worker_replaced on stderr, gateway_worker_restarts_total, and the port keeps serving", async () => {
  const upstream = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("ok") });
  const dir = mkdtempSync(join(tmpdir(), "gw-crash-"));
  // A plugin that ends its worker thread on one path: the crash of a worker, made on purpose.
  writeFileSync(join(dir, "crash.ts"), `export default { name: "crash", create() { return { onRequest(ctx) { if (new URL(ctx.request.url).pathname === "/crash") process.exit(3); } }; } };`);
  const gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
workers = 2
[metrics]
listen = "127.0.0.1:0"
[[plugins]]
name = "crash"
path = "${join(dir, "crash.ts")}"
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${upstream.port}" }]
[[routes]]
name = "r"
path = "/*"
upstream = "u"
plugins = [{ name = "crash" }]
`);
  const scrape = async () => parsePrometheus(await (await fetch(gw.metricsUrl!)).text());
  try {
    expect(valueOf(await scrape(), "gateway_workers")).toBe(2);
    await fetch(`${gw.url}/crash`, { headers: { connection: "close" } }).then((r) => r.text(), () => "connection lost");
    await until("worker_replaced", () => gw.stderr().includes('"event":"worker_replaced"'), 5000);
    const line = JSON.parse(gw.stderr().split("\n").find((l) => l.includes('"event":"worker_replaced"'))!);
    expect(line).toMatchObject({ level: "error", worker: expect.any(Number), in_ms: 100 });
    await until("two workers again", async () => valueOf(await scrape(), "gateway_workers") === 2, 5000);
    const fams = await scrape();
    expect(valueOf(fams, "gateway_worker_restarts_total")).toBe(1);
    expect(valueOf(fams, "gateway_events_total", { event: "worker_replaced" })).toBe(1);
    // Fresh connections land on either worker (reusePort): all served.
    for (let i = 0; i < 10; i++) expect((await fetch(`${gw.url}/ok`, { headers: { connection: "close" } })).status).toBe(200);
  } finally {
    await gw.stop();
    upstream.stop(true);
  }
}, 20_000);
