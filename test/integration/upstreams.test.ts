import { afterEach, describe, expect, test } from "bun:test";
import { startGateway, type GatewayProcess } from "../helpers/gateway.ts";
import { startUpstreamProcess, type UpstreamProcess } from "../helpers/upstream-process.ts";

let running: { gw: GatewayProcess | null; ups: UpstreamProcess[] } = { gw: null, ups: [] };
afterEach(async () => {
  await running.gw?.stop();
  await Promise.all(running.ups.map((u) => u.kill().catch(() => {})));
  running = { gw: null, ups: [] };
});

async function setup(names: string[], upstreamToml: (ups: UpstreamProcess[]) => string, workers = 1): Promise<{ gw: GatewayProcess; ups: UpstreamProcess[] }> {
  const ups = await Promise.all(names.map((n) => startUpstreamProcess(n)));
  running.ups = ups;
  const gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
workers = ${workers}
access_log = false

[[upstreams]]
name = "svc"
${upstreamToml(ups)}

[[routes]]
name = "svc"
path = "/*"
upstream = "svc"
`);
  running.gw = gw;
  return { gw, ups };
}

async function servedBy(url: string, n: number, init?: RequestInit): Promise<{ names: string[]; statuses: number[] }> {
  const names: string[] = [];
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fetch(url, init);
    statuses.push(r.status);
    names.push(r.headers.get("x-served-by") ?? "");
    await r.text();
  }
  return { names, statuses };
}

const tally = (xs: string[]) => xs.reduce<Record<string, number>>((m, x) => ((m[x] = (m[x] ?? 0) + 1), m), {});
const targets = (ups: UpstreamProcess[], extra: (i: number) => string = () => "") =>
  `targets = [${ups.map((u, i) => `{ url = "${u.url}"${extra(i)} }`).join(", ")}]`;

describe("balancing through the gateway", () => {
  test("weighted 3:1 is observed over 400 requests, interleaved", async () => {
    const { gw } = await setup(["a", "b"], (ups) => `balancer = "weighted"\n${targets(ups, (i) => `, weight = ${i === 0 ? 3 : 1}`)}`);
    const { names } = await servedBy(`${gw.url}/w`, 400);
    expect(tally(names)).toEqual({ a: 300, b: 100 });
    // Smooth: never four a's in a row.
    expect(names.join("")).not.toContain("aaaa");
  });

  test("hash on a header is sticky per key and spreads keys", async () => {
    const { gw } = await setup(["a", "b", "c"], (ups) => `balancer = "hash"\nhash_key = "header:x-user"\n${targets(ups)}`);
    const owners = new Set<string>();
    for (const user of ["u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8"]) {
      const { names } = await servedBy(`${gw.url}/h`, 5, { headers: { "x-user": user } });
      expect(new Set(names).size).toBe(1);
      owners.add(names[0]!);
    }
    expect(owners.size).toBeGreaterThan(1);
  });

  test("least_conn sends new requests away from the slow target", async () => {
    const { gw, ups } = await setup(["slow", "fast"], (u) => `balancer = "least_conn"\n${targets(u)}`);
    await ups[0]!.control({ delay: 400 });
    const rs = await Promise.all(Array.from({ length: 30 }, (_, i) => Bun.sleep(i * 10).then(() => fetch(`${gw.url}/lc`))));
    const names = await Promise.all(rs.map(async (r) => (await r.text(), r.headers.get("x-served-by")!)));
    const t = tally(names);
    expect(t.fast!).toBeGreaterThan(t.slow ?? 0);
  });

  test("backup targets serve only when every primary is gone", async () => {
    const { gw, ups } = await setup(["primary", "backup"], (u) => `retries = 1\npassive = { max_fails = 1, fail_timeout = "10s" }\n${targets(u, (i) => (i === 1 ? ", backup = true" : ""))}`);
    expect(tally((await servedBy(`${gw.url}/b`, 20)).names)).toEqual({ primary: 20 });
    await ups[0]!.kill();
    const after = await servedBy(`${gw.url}/b`, 20);
    expect(after.statuses.every((s) => s === 200)).toBe(true);
    expect(tally(after.names)).toEqual({ backup: 20 });
  });
});

describe("failures the client does not see", () => {
  test("one of three targets killed under load: zero client errors for GETs", async () => {
    const { gw, ups } = await setup(
      ["a", "b", "c"],
      (u) => `retries = 2\npassive = { max_fails = 1, fail_timeout = "10s" }\ntimeouts = { connect = "500ms", read = "2s" }\n${targets(u)}`,
    );
    const statuses: number[] = [];
    let stop = false;
    const workers = Array.from({ length: 8 }, async () => {
      while (!stop) {
        const r = await fetch(`${gw.url}/load`);
        statuses.push(r.status);
        await r.text();
      }
    });
    await Bun.sleep(300);
    await ups[1]!.kill();
    await Bun.sleep(700);
    stop = true;
    await Promise.all(workers);
    expect(statuses.length).toBeGreaterThan(100);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  });

  test("active health checks take a sick target out and put it back", async () => {
    const { gw, ups } = await setup(
      ["a", "b"],
      (u) => `health_check = { path = "/health", interval = "100ms", timeout = "100ms", healthy = 1, unhealthy = 1 }\n${targets(u)}`,
    );
    await ups[0]!.control({ health: 503 });
    await Bun.sleep(400);
    expect(tally((await servedBy(`${gw.url}/hc`, 10)).names)).toEqual({ b: 10 });
    await ups[0]!.control({ health: 200 });
    await Bun.sleep(400);
    expect(Object.keys(tally((await servedBy(`${gw.url}/hc`, 10)).names)).sort()).toEqual(["a", "b"]);
  });
});

describe("circuit breaker", () => {
  test("opens after N failures, answers 503 with Retry-After without calling the target, half-opens and closes", async () => {
    const { gw, ups } = await setup(
      ["only"],
      (u) => `retries = 0\ncircuit_breaker = { failures = 3, open_for = "1s", half_open_requests = 1 }\n${targets(u)}`,
    );
    await ups[0]!.control({ status: 500 });
    const first = await servedBy(`${gw.url}/cb`, 3);
    expect(first.statuses).toEqual([500, 500, 500]);
    const servedBefore = ((await (await fetch(`${ups[0]!.url}/__ctl`, { method: "POST" })).json()) as { served: number }).served;
    const open = await fetch(`${gw.url}/cb`);
    expect(open.status).toBe(503);
    const ra = Number(open.headers.get("retry-after"));
    expect(ra).toBeGreaterThanOrEqual(1);
    expect(ra).toBeLessThanOrEqual(2);
    expect(((await open.json()) as { error: string }).error).toBe("service_unavailable");
    const servedAfter = ((await (await fetch(`${ups[0]!.url}/__ctl`, { method: "POST" })).json()) as { served: number }).served;
    expect(servedAfter).toBe(servedBefore);
    // Heal the target; after open_for a probe goes through and closes the breaker.
    await ups[0]!.control({ status: 200 });
    await Bun.sleep(1100);
    const healed = await servedBy(`${gw.url}/cb`, 5);
    expect(healed.statuses).toEqual([200, 200, 200, 200, 200]);
  });
});

describe("retries", () => {
  test("a 503 from one target is retried on another for GET, not for POST without Idempotency-Key", async () => {
    const { gw, ups } = await setup(["bad", "good"], (u) => `retries = 1\n${targets(u)}`);
    await ups[0]!.control({ status: 503 });
    const gets = await servedBy(`${gw.url}/r`, 10);
    expect(gets.statuses.every((s) => s === 200)).toBe(true);
    const posts = await servedBy(`${gw.url}/r`, 10, { method: "POST", body: "x" });
    expect(posts.statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
    const keyed = await servedBy(`${gw.url}/r`, 10, { method: "POST", body: "x", headers: { "idempotency-key": "k-1" } });
    expect(keyed.statuses.every((s) => s === 200)).toBe(true);
  });

  test("retry budget stops a retry storm when everything fails", async () => {
    const { gw, ups } = await setup(
      ["a", "b", "c"],
      (u) => `retries = 2\nretry_budget = { ratio = 0.1, min_per_second = 1 }\n${targets(u)}`,
    );
    for (const u of ups) await u.control({ status: 503 });
    await servedBy(`${gw.url}/storm`, 100);
    const served = await Promise.all(ups.map(async (u) => ((await (await fetch(`${u.url}/__ctl`, { method: "POST" })).json()) as { served: number }).served));
    const total = served.reduce((a, b) => a + b, 0);
    // Without a budget this would be 300 (3 tries each); the budget keeps it near 100.
    expect(total).toBeGreaterThanOrEqual(100);
    expect(total).toBeLessThan(140);
  });
});

describe("pool limits", () => {
  test("beyond max_connections requests queue and succeed; beyond max_queue they get 503", async () => {
    const { gw, ups } = await setup(["slow"], (u) => `retries = 0\npool = { max_connections = 2, max_queue = 4, queue_timeout = "5s" }\n${targets(u)}`);
    await ups[0]!.control({ delay: 200 });
    const ok = await Promise.all(Array.from({ length: 6 }, () => fetch(`${gw.url}/q`).then(async (r) => (await r.text(), r.status))));
    expect(ok).toEqual([200, 200, 200, 200, 200, 200]);
    const over = await Promise.all(Array.from({ length: 10 }, () => fetch(`${gw.url}/q`).then(async (r) => (await r.text(), r.status))));
    expect(over.filter((s) => s === 200).length).toBe(6);
    expect(over.filter((s) => s === 503).length).toBe(4);
  });
});
