import { expect, test } from "bun:test";
import { startGateway } from "../helpers/gateway.ts";
import { parsePrometheus, valueOf } from "../helpers/prometheus.ts";
import { startRecordingUpstream } from "../helpers/recording-upstream.ts";
import { startRedis } from "../helpers/redis.ts";
import { until } from "../helpers/wait.ts";

test("redis-server killed and restarted: redis_lost (with the fallback in force) and redis_back on stderr, counted, gateway_redis_up follows", async () => {
  const redis = await startRedis();
  const up = startRecordingUpstream();
  const gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
workers = 2
[metrics]
listen = "127.0.0.1:0"
[redis]
url = "${redis.url}"
sync_interval = "50ms"
on_error = "local"
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${up.port}" }]
[[routes]]
name = "r"
path = "/*"
upstream = "u"
rate_limits = [{ algorithm = "fixed_window", limit = 1000, window = "1m", key = "ip" }]
`);
  const scrape = async () => parsePrometheus(await (await fetch(gw.metricsUrl!)).text());
  try {
    expect((await fetch(`${gw.url}/a`)).status).toBe(200);
    await until("Redis up", async () => valueOf(await scrape(), "gateway_redis_up") === 1, 8000);
    const upFams = await scrape();
    expect(valueOf(upFams, "gateway_redis_sync_rounds_total", { result: "ok" })).toBeGreaterThan(0);
    expect(valueOf(upFams, "gateway_redis_sync_lag_seconds")).toBe(0);
    expect(upFams.get("gateway_redis_sync_round_seconds")!.samples[0]!.value).toBeLessThan(1);
    await redis.kill();
    await until("redis_lost", () => gw.stderr().includes('"event":"redis_lost"'), 8000);
    const lost = JSON.parse(gw.stderr().split("\n").find((l) => l.includes('"event":"redis_lost"'))!);
    expect(lost).toMatchObject({ level: "error", fallback: "local" });
    expect(valueOf(await scrape(), "gateway_redis_up")).toBe(0);
    // The shared counters age while Redis is away: the lag grows past a few rounds.
    await until("sync lag growing", async () => valueOf(await scrape(), "gateway_redis_sync_lag_seconds") > 0.2, 8000);
    expect(valueOf(await scrape(), "gateway_redis_sync_rounds_total", { result: "failed" })).toBeGreaterThan(0);
    // Served meanwhile, on the local fallback.
    expect((await fetch(`${gw.url}/b`)).status).toBe(200);
    await redis.restart();
    await until("redis_back", () => gw.stderr().includes('"event":"redis_back"'), 8000);
    const fams = await scrape();
    expect(valueOf(fams, "gateway_redis_up")).toBe(1);
    await until("sync lag back to 0", async () => valueOf(await scrape(), "gateway_redis_sync_lag_seconds") === 0, 8000);
    expect(valueOf(fams, "gateway_events_total", { event: "redis_lost" })).toBe(1);
    expect(valueOf(fams, "gateway_events_total", { event: "redis_back" })).toBe(1);
  } finally {
    await gw.stop();
    up.stop();
    await redis.stop();
  }
}, 30_000);
