/**
 * The response cache end to end: a real gateway process, real origins on
 * loopback. RFC 9111 hits and misses with Age and Cache-Status (RFC 9211),
 * Vary, revalidation with 304, client conditionals, only-if-cached, HEAD from
 * GET, §4.4 invalidation, RFC 5861 stale-while-revalidate and stale-if-error
 * (origin failing and origin dead), coalescing, purge, metrics; and the
 * peers' bugs as regressions: a gzip variant to a client without gzip
 * (Kong), a POST answered from a GET entry (APISIX), Set-Cookie replayed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { gzipSync } from "node:zlib";
import { startGateway, type GatewayProcess } from "../helpers/gateway.ts";
import { parsePrometheus } from "../helpers/prometheus.ts";

const TOKEN = "cache-admin-token";
const counts = new Map<string, number>();
const seen: { path: string; inm: string | null; ims: string | null; method: string }[] = [];
let failing = false;
let origin: ReturnType<typeof Bun.serve>;
let doomed: ReturnType<typeof Bun.serve>;
let gw: GatewayProcess;

function count(key: string): number {
  const n = (counts.get(key) ?? 0) + 1;
  counts.set(key, n);
  return n;
}
const hits = (key: string) => counts.get(key) ?? 0;

/** The origin: `?cc=…&vary=…&etag=…&cookie=1&delay=ms&status=…&tag=…` shape the answer; the body says which fetch it was. */
function answer(req: Request, who: string): Response | Promise<Response> {
  const url = new URL(req.url);
  const key = `${who}${url.pathname}${url.search}`;
  seen.push({ path: url.pathname + url.search, inm: req.headers.get("if-none-match"), ims: req.headers.get("if-modified-since"), method: req.method });
  if (req.method !== "GET" && req.method !== "HEAD") {
    count(`${req.method} ${key}`);
    const loc = url.searchParams.get("location");
    return new Response("done", { status: 201, headers: loc ? { location: loc } : {} });
  }
  const q = url.searchParams;
  const n = count(key);
  // An exact Date: Bun's own is cached per second and can lag, which a loaded machine turns into an apparent age (§4.2.3).
  const h = new Headers({ "content-type": "text/plain", date: new Date().toUTCString() });
  if (q.get("cc")) h.set("cache-control", q.get("cc")!);
  if (q.get("vary")) h.set("vary", q.get("vary")!);
  if (q.get("cookie")) h.set("set-cookie", `sid=user${n}; HttpOnly`);
  if (q.get("tag")) h.set("surrogate-key", q.get("tag")!);
  const etag = q.get("etag");
  if (etag) {
    h.set("etag", `"${etag}"`);
    if (req.headers.get("if-none-match") === `"${etag}"`) return new Response(null, { status: 304, headers: h });
  }
  if (failing && q.get("fail")) return new Response("down", { status: 503 });
  let body: string | Uint8Array = `${key} #${n} lang=${req.headers.get("accept-language") ?? "-"}`;
  if (q.get("gz") && /gzip/.test(req.headers.get("accept-encoding") ?? "")) {
    body = gzipSync(body);
    h.set("content-encoding", "gzip");
  }
  const status = Number(q.get("status") ?? 200);
  const delay = Number(q.get("delay") ?? 0);
  const res = () => new Response(body, { status, headers: h });
  return delay > 0 ? Bun.sleep(delay).then(res) : res();
}

beforeAll(async () => {
  origin = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (r) => answer(r, "o") });
  doomed = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (r) => answer(r, "d") });
  gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
access_log = false

[admin]
listen = "127.0.0.1:0"
token = "${TOKEN}"

[metrics]
listen = "127.0.0.1:0"

[cache]
size = "16MB"
max_object_size = "64KB"

[[upstreams]]
name = "o"
targets = [{ url = "http://127.0.0.1:${origin.port}" }]

[[upstreams]]
name = "d"
targets = [{ url = "http://127.0.0.1:${doomed.port}" }]
timeouts = { connect = "300ms", read = "1s" }
retries = 0

[[routes]]
name = "ttl"
path = "/ttl/*"
upstream = "o"
cache = { ttl = "60s" }

[[routes]]
name = "dead"
path = "/dead/*"
upstream = "d"
cache = { stale_if_error = "5m" }

[[routes]]
name = "swr"
path = "/swr/*"
upstream = "o"
cache = { stale_while_revalidate = "30s" }

[[routes]]
name = "plain"
path = "/plain/*"
upstream = "o"

[[routes]]
name = "rfc"
path = "/*"
upstream = "o"
cache = {}
`);
});

afterAll(async () => {
  await gw?.stop();
  origin?.stop(true);
  doomed?.stop(true);
});

const get = (path: string, headers: Record<string, string> = {}, method = "GET") => fetch(`${gw.url}${path}`, { method, headers, decompress: false } as RequestInit);
const admin = (path: string, body?: unknown) =>
  fetch(`${gw.adminUrl}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

describe("hits and misses (RFC 9111 §4, RFC 9211)", () => {
  test("MISS stored, then HIT with Age and ttl; the origin sees one request", async () => {
    const p = "/a?cc=max-age%3D60";
    const r1 = await get(p);
    expect(r1.headers.get("cache-status")).toMatch(/^gateway; fwd=uri-miss; fwd-status=200; ttl=(5[89]|60); stored$/);
    const b1 = await r1.text();
    await Bun.sleep(1100);
    const r2 = await get(p);
    expect(await r2.text()).toBe(b1);
    expect(r2.headers.get("cache-status")).toMatch(/^gateway; hit; ttl=5[6-9]$/);
    expect(Number(r2.headers.get("age"))).toBeGreaterThanOrEqual(1);
    expect(hits(`o/a?cc=max-age%3D60`)).toBe(1);
  });

  test("no-store and private are never stored", async () => {
    for (const cc of ["no-store", "private%2C%20max-age%3D60"]) {
      const p = `/ns?cc=${cc}`;
      await (await get(p)).text();
      const r = await get(p);
      expect(r.headers.get("cache-status")).toContain("fwd=uri-miss");
      expect(await r.text()).toContain("#2");
    }
  });

  test("a request with Authorization is not stored unless the response allows it (§3.5)", async () => {
    const p = "/auth?cc=max-age%3D60";
    await (await get(p, { authorization: "Bearer x" })).text();
    expect((await get(p, { authorization: "Bearer x" })).headers.get("cache-status")).toContain("fwd=uri-miss");
    const q = "/auth?cc=public%2C%20max-age%3D60";
    await (await get(q, { authorization: "Bearer x" })).text();
    expect((await get(q, { authorization: "Bearer x" })).headers.get("cache-status")).toContain("hit");
  });

  test("route ttl for responses without explicit freshness; RFC-only route does not store them", async () => {
    await (await get("/ttl/x")).text();
    const r = await get("/ttl/x");
    expect(r.headers.get("cache-status")).toMatch(/^gateway; hit; ttl=(5[89]|60)$/);
    await (await get("/nofresh")).text();
    expect((await get("/nofresh")).headers.get("cache-status")).toContain("fwd=uri-miss");
  });

  test("a route without cache has no Cache-Status and is never cached", async () => {
    await (await get("/plain/x?cc=max-age%3D60")).text();
    const r = await get("/plain/x?cc=max-age%3D60");
    expect(r.headers.get("cache-status")).toBeNull();
    expect(await r.text()).toContain("#2");
  });

  test("HEAD is answered from the GET entry", async () => {
    const p = "/head?cc=max-age%3D60";
    await (await get(p)).text();
    const r = await get(p, {}, "HEAD");
    expect(r.status).toBe(200);
    expect(r.headers.get("cache-status")).toContain("hit");
    expect(hits("o/head?cc=max-age%3D60")).toBe(1);
  });
});

describe("request directives (§5.2.1)", () => {
  test("only-if-cached: 504 when nothing is stored, the entry when it is", async () => {
    const r = await get("/oic?cc=max-age%3D60", { "cache-control": "only-if-cached" });
    expect(r.status).toBe(504);
    expect(hits("o/oic?cc=max-age%3D60")).toBe(0);
    await (await get("/oic?cc=max-age%3D60")).text();
    expect((await get("/oic?cc=max-age%3D60", { "cache-control": "only-if-cached" })).status).toBe(200);
  });
  test("max-age=0 from the client goes to the origin; max-stale accepts a stale entry", async () => {
    const p = "/ma?cc=max-age%3D2";
    await (await get(p)).text();
    const r = await get(p, { "cache-control": "max-age=0" });
    expect(r.headers.get("cache-status")).toContain("fwd=stale");
    await Bun.sleep(2100);
    const s = await get(p, { "cache-control": "max-stale=60" });
    expect(s.headers.get("cache-status")).toContain("detail=max-stale");
  });
});

describe("validation", () => {
  test("a stale entry is revalidated with If-None-Match; the 304 refreshes it", async () => {
    const p = "/val?cc=no-cache&etag=v1";
    const b1 = await (await get(p)).text();
    const r = await get(p);
    expect(r.status).toBe(200);
    expect(r.headers.get("cache-status")).toBe("gateway; fwd=stale; fwd-status=304");
    expect(await r.text()).toBe(b1);
    expect(seen.filter((s) => s.path === p).map((s) => s.inm)).toEqual([null, '"v1"']);
  });
  test("a client's conditional is answered 304 from a fresh entry; the origin is asked for the full response", async () => {
    const p = "/cond?cc=max-age%3D60&etag=e7";
    const r1 = await get(p, { "if-none-match": '"e7"' });
    expect(r1.status).toBe(304);
    expect(seen.filter((s) => s.path === p)[0]!.inm).toBeNull();
    const r2 = await get(p, { "if-none-match": '"e7"' });
    expect(r2.status).toBe(304);
    expect(r2.headers.get("etag")).toBe('"e7"');
    expect(r2.headers.get("cache-status")).toContain("hit");
    const r3 = await get(p);
    expect(r3.status).toBe(200);
    expect(await r3.text()).toContain("#1");
  });
});

describe("Vary (§4.1)", () => {
  test("variants per normalised request field; each is a HIT for its own clients", async () => {
    const p = "/vary?cc=max-age%3D60&vary=accept-language";
    const en = await (await get(p, { "accept-language": "en" })).text();
    const fr = await get(p, { "accept-language": "fr" });
    expect(fr.headers.get("cache-status")).toContain("fwd=vary-miss");
    const frBody = await fr.text();
    expect(frBody).toContain("lang=fr");
    expect(await (await get(p, { "accept-language": "en" })).text()).toBe(en);
    expect(await (await get(p, { "accept-language": "fr" })).text()).toBe(frBody);
    expect(hits(`o${p}`)).toBe(2);
  });
  test("Vary: * never matches", async () => {
    const p = "/star?cc=max-age%3D60&vary=*";
    await (await get(p)).text();
    expect(await (await get(p)).text()).toContain("#2");
  });
  test("regression (Kong): a gzip variant is never served to a client without gzip", async () => {
    const p = "/gz?cc=max-age%3D60&vary=accept-encoding&gz=1";
    const z = await get(p, { "accept-encoding": "gzip" });
    expect(z.headers.get("content-encoding")).toBe("gzip");
    await z.arrayBuffer();
    const plain = await get(p, { "accept-encoding": "identity" });
    expect(plain.headers.get("content-encoding")).toBeNull();
    expect(await plain.text()).toContain(`o${p} #2`);
    const z2 = await get(p, { "accept-encoding": "gzip" });
    expect(z2.headers.get("cache-status")).toContain("hit");
    expect(z2.headers.get("content-encoding")).toBe("gzip");
  });
});

describe("never shared: Set-Cookie, and unsafe methods (§4.4)", () => {
  test("regression: Set-Cookie is never replayed to another client", async () => {
    const p = "/cookie?cc=public%2C%20max-age%3D60&cookie=1";
    const r1 = await get(p);
    expect(r1.headers.get("set-cookie")).toBe("sid=user1; HttpOnly");
    await r1.text();
    const r2 = await get(p);
    expect(r2.headers.get("cache-status")).toContain("hit");
    expect(r2.headers.get("set-cookie")).toBeNull();
  });
  test("regression (APISIX): a POST is never answered from a GET entry, and invalidates it and its Location", async () => {
    const p = "/item?cc=max-age%3D60";
    const other = "/other?cc=max-age%3D60";
    await (await get(p)).text();
    await (await get(other)).text();
    const post = await fetch(`${gw.url}/item?cc=max-age%3D60&location=${encodeURIComponent(other)}`, { method: "POST", body: "x" });
    expect(post.status).toBe(201);
    expect(await post.text()).toBe("done");
    const post2 = await fetch(`${gw.url}${p}`, { method: "POST", body: "x" });
    expect(await post2.text()).toBe("done");
    // the POST to p itself invalidated p; the first POST's Location invalidated /other
    expect(await (await get(p)).text()).toContain("#2");
    expect(await (await get(other)).text()).toContain("#2");
  });
});

describe("RFC 5861", () => {
  test("stale-while-revalidate: the stale copy at once, one background refresh", async () => {
    const p = "/swr/x?cc=max-age%3D1&delay=300";
    const b1 = await (await get(p)).text();
    await Bun.sleep(1200);
    const t0 = performance.now();
    const [s1, s2] = await Promise.all([get(p), get(p)]);
    expect(performance.now() - t0).toBeLessThan(250);
    expect(s1.headers.get("cache-status")).toContain("detail=stale-while-revalidate");
    expect(await s1.text()).toBe(b1);
    expect(await s2.text()).toBe(b1);
    await Bun.sleep(600);
    expect(hits(`o/swr/x?cc=max-age%3D1&delay=300`)).toBe(2);
    const fresh = await get(p);
    expect(fresh.headers.get("cache-status")).toContain("hit");
    expect(await fresh.text()).toContain("#2");
  });
  test("stale-if-error: the origin answering 503 gets the stale copy within the window", async () => {
    const p = "/sie?cc=max-age%3D1%2C%20stale-if-error%3D60&fail=1";
    const b1 = await (await get(p)).text();
    await Bun.sleep(1100);
    failing = true;
    try {
      const r = await get(p);
      expect(r.status).toBe(200);
      expect(r.headers.get("cache-status")).toContain("detail=stale-if-error");
      expect(await r.text()).toBe(b1);
    } finally {
      failing = false;
    }
  });
  test("stale-if-error (route key): the origin dead, the stale copy is served", async () => {
    const p = "/dead/x?cc=max-age%3D1";
    const b1 = await (await get(p)).text();
    await Bun.sleep(1100);
    doomed.stop(true);
    const r = await get(p);
    expect(r.status).toBe(200);
    expect(await r.text()).toBe(b1);
    expect(r.headers.get("cache-status")).toContain("detail=stale-if-error");
  });
});

describe("coalescing", () => {
  test("1,000 concurrent misses on one key make one upstream request", async () => {
    const p = "/herd?cc=max-age%3D60&delay=300";
    const all = await Promise.all(Array.from({ length: 1000 }, () => get(p).then((r) => r.text())));
    expect(new Set(all).size).toBe(1);
    expect(hits(`o${p}`)).toBe(1);
  }, 30_000);
});

describe("purge (admin API)", () => {
  test("by URL (all variants), by prefix, by tag; answers how many went", async () => {
    const base = gw.url.replace("localhost", "127.0.0.1");
    const host = new URL(gw.url).host;
    const p = "/pu/1?cc=max-age%3D60&vary=accept-language&tag=user-1";
    await (await get(p, { "accept-language": "en" })).text();
    await (await get(p, { "accept-language": "fr" })).text();
    const byUrl = (await (await admin("/cache/purge", { url: `http://${host}${p}` })).json()) as { purged: number };
    expect(byUrl.purged).toBe(3); // the marker and the two variants
    expect(await (await get(p, { "accept-language": "en" })).text()).toContain("#3");
    await (await get("/pu/2?cc=max-age%3D60")).text();
    const byPrefix = (await (await admin("/cache/purge", { prefix: `http://${host}/pu/` })).json()) as { purged: number };
    expect(byPrefix.purged).toBeGreaterThanOrEqual(2);
    await (await get("/pu/3?cc=max-age%3D60&tag=t-9")).text();
    const byTag = (await (await admin("/cache/purge", { tag: "t-9" })).json()) as { purged: number };
    expect(byTag.purged).toBe(1);
    expect((await get("/pu/3?cc=max-age%3D60&tag=t-9")).headers.get("cache-status")).toContain("fwd=uri-miss");
    expect((await admin("/cache/purge", { url: "x", tag: "y" })).status).toBe(400);
    expect((await admin("/cache/purge", { url: "ftp://x/" })).status).toBe(400);
    expect(base).toBeTruthy();
  });
  test("GET /cache and /status show the arena", async () => {
    const s = (await (await admin("/cache")).json()) as { entries: number };
    expect(s.entries).toBeGreaterThan(0);
    const status = (await (await admin("/status")).json()) as { cache: { entries: number } };
    expect(status.cache.entries).toBeGreaterThan(0);
  });
});

describe("metrics", () => {
  test("gateway_cache_requests_total{route,result}", async () => {
    const text = await (await fetch(gw.metricsUrl!)).text();
    expect(text).toMatch(/gateway_cache_requests_total\{route="rfc",result="hit"\} [1-9]/);
    expect(text).toMatch(/gateway_cache_requests_total\{route="rfc",result="miss"\} [1-9]/);
    expect(text).toMatch(/gateway_cache_requests_total\{route="rfc",result="revalidated"\} [1-9]/);
    expect(text).toMatch(/gateway_cache_requests_total\{route="swr",result="stale"\} [1-9]/);
  });
  test("the arena's entries, bytes, capacity, evictions on /metrics agree with GET /cache", async () => {
    const fams = parsePrometheus(await (await fetch(gw.metricsUrl!)).text());
    const one = (name: string) => fams.get(name)!.samples[0]!.value;
    const stats = (await (await admin("/cache")).json()) as { entries: number; bytes: number; capacity: number; evictions: number };
    expect(one("gateway_cache_entries")).toBe(stats.entries);
    expect(one("gateway_cache_entries")).toBeGreaterThan(0);
    expect(one("gateway_cache_bytes")).toBe(stats.bytes);
    expect(one("gateway_cache_capacity_bytes")).toBe(stats.capacity);
    expect(one("gateway_cache_evictions_total")).toBe(stats.evictions);
    expect(fams.get("gateway_cache_evictions_total")!.type).toBe("counter");
  });
});
