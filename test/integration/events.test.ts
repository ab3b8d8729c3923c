import { expect, test } from "bun:test";
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
