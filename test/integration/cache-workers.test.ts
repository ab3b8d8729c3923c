/**
 * One cache for every worker: with 2 workers, a response stored by one is a
 * HIT on the other (the arena is shared memory), concurrent misses spread
 * over both workers still make one upstream request (the fill lock is in the
 * arena), and a purge through the admin API reaches both at once.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startGateway, type GatewayProcess } from "../helpers/gateway.ts";

const TOKEN = "t-workers";
let calls = 0;
let origin: ReturnType<typeof Bun.serve>;
let gw: GatewayProcess;

beforeAll(async () => {
  origin = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      calls++;
      await Bun.sleep(new URL(req.url).searchParams.has("slow") ? 300 : 0);
      return new Response(`call ${calls}`, { headers: { "cache-control": "max-age=60" } });
    },
  });
  gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
workers = 2
access_log = true

[admin]
listen = "127.0.0.1:0"
token = "${TOKEN}"

[[upstreams]]
name = "o"
targets = [{ url = "http://127.0.0.1:${origin.port}" }]

[[routes]]
name = "c"
path = "/*"
upstream = "o"
cache = {}
`);
});

afterAll(async () => {
  await gw?.stop();
  origin?.stop(true);
});

/** A new connection per request (Connection: close), so requests land on both workers (reusePort). */
const get = (path: string) => fetch(`${gw.url}${path}`, { headers: { connection: "close" } });

test("a response stored by one worker is a HIT on the other", async () => {
  const first = await (await get("/shared")).text();
  const answers: string[] = [];
  for (let i = 0; i < 20; i++) {
    const r = await get("/shared");
    expect(r.headers.get("cache-status")).toContain("hit");
    answers.push(await r.text());
  }
  expect(new Set(answers)).toEqual(new Set([first]));
  expect(calls).toBe(1);
  // reusePort spreads new connections over the workers: 20 closed connections all but surely reached both.
});

test("concurrent misses over both workers make one upstream request", async () => {
  const before = calls;
  const all = await Promise.all(Array.from({ length: 200 }, () => get("/herd?slow").then((r) => r.text())));
  expect(new Set(all).size).toBe(1);
  expect(calls - before).toBe(1);
});

test("a purge reaches every worker", async () => {
  const before = await (await get("/p")).text();
  const res = await fetch(`${gw.adminUrl}/cache/purge`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ url: `${gw.url}/p` }),
  });
  expect(((await res.json()) as { purged: number }).purged).toBe(1);
  const refill = await get("/p");
  expect(refill.headers.get("cache-status")).toContain("fwd=uri-miss");
  const after = await refill.text();
  expect(after).not.toBe(before);
  // no worker kept the purged copy: every one now answers the new one
  for (let i = 0; i < 10; i++) expect(await (await get("/p")).text()).toBe(after);
});
