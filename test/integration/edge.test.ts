/**
 * CORS, compression and IP filters end to end: a real gateway process, a
 * real upstream on loopback, real sockets (fetch with decompression off, so
 * the test sees the bytes on the wire).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import zlib from "node:zlib";
import { startGateway, type GatewayProcess } from "../helpers/gateway.ts";

const BIG = JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item-${i}`, tags: ["a", "b", "c"], active: i % 2 === 0 })) });

let upstream: ReturnType<typeof Bun.serve>;
let gw: GatewayProcess;

function startUpstream() {
  return Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const path = new URL(req.url).pathname;
      const tail = path.slice(path.indexOf("/", 1));
      switch (tail) {
        case "/big":
          return new Response(BIG, { headers: { "content-type": "application/json; charset=utf-8", etag: '"v1"' } });
        case "/small":
          return Response.json({ ok: true });
        case "/cond": {
          // If-None-Match with the weak comparison (RFC 9110 §13.1.2), as an origin must.
          const inm = req.headers.get("if-none-match") ?? "";
          const tags = inm.split(",").map((t) => t.trim().replace(/^W\//, ""));
          if (tags.includes('"v1"')) return new Response(null, { status: 304, headers: { etag: '"v1"', "cache-control": "max-age=60" } });
          return new Response(BIG, { headers: { "content-type": "application/json", etag: '"v1"', "cache-control": "max-age=60" } });
        }
        case "/png":
          return new Response(new Uint8Array(4096), { headers: { "content-type": "image/png" } });
        case "/no-transform":
          return new Response(BIG, { headers: { "content-type": "application/json", "cache-control": "public, no-transform" } });
        case "/encoded":
          return new Response(zlib.gzipSync(BIG), { headers: { "content-type": "application/json", "content-encoding": "gzip" } });
        case "/empty":
          return new Response(null, { status: 204, headers: { "content-type": "application/json" } });
        case "/stream": {
          // Three NDJSON chunks 300 ms apart, no Content-Length: a streaming upstream.
          let n = 0;
          const body = new ReadableStream<Uint8Array>({
            async pull(c) {
              if (n > 0) await Bun.sleep(300);
              if (n === 3) return c.close();
              c.enqueue(new TextEncoder().encode(`${JSON.stringify({ n: n++, pad: "x".repeat(800) })}\n`));
            },
          });
          return new Response(body, { headers: { "content-type": "application/x-ndjson" } });
        }
        case "/dies": {
          // One chunk, then the upstream breaks mid-body.
          let sent = false;
          const body = new ReadableStream<Uint8Array>({
            async pull(c) {
              if (sent) {
                await Bun.sleep(100);
                c.error(new Error("upstream broke"));
                return;
              }
              sent = true;
              c.enqueue(new TextEncoder().encode(`${JSON.stringify({ pad: "y".repeat(2000) })}\n`));
            },
          });
          return new Response(body, { headers: { "content-type": "application/x-ndjson" } });
        }
        case "/sse": {
          let n = 0;
          const body = new ReadableStream<Uint8Array>({
            async pull(c) {
              if (n > 0) await Bun.sleep(200);
              if (n === 2) return c.close();
              c.enqueue(new TextEncoder().encode(`data: ${n++}\n\n`));
            },
          });
          return new Response(body, { headers: { "content-type": "text/event-stream" } });
        }
        default:
          return Response.json({ path, method: req.method, xff: req.headers.get("x-forwarded-for") });
      }
    },
  });
}

beforeAll(async () => {
  upstream = startUpstream();
  gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
workers = 1
access_log = false
trusted_proxies = ["127.0.0.1/32"]
ip = { deny = ["203.0.113.0/24"] }

[cors]
origins = ["https://app.example"]
max_age = "10m"

[auth]

[[consumers]]
name = "c"
api_keys = ["key-edge-0123456789abc"]

[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${upstream.port}" }]

[[routes]]
name = "readonly"
path = "/ro/*"
methods = ["GET"]
upstream = "u"
auth = "api_key"
cors = { methods = ["GET", "PUT"], headers = ["x-custom", "content-type"], expose = ["x-total"], credentials = true }

[[routes]]
name = "open"
path = "/open/*"
upstream = "u"

[[routes]]
name = "nocors"
path = "/nocors/*"
upstream = "u"
cors = false

[[routes]]
name = "anyorigin"
path = "/any/*"
upstream = "u"
cors = { origins = ["*"], headers = ["*"] }

[[routes]]
name = "zip"
path = "/zip/*"
upstream = "u"
compression = { min_size = "1KB" }

[[routes]]
name = "office"
path = "/office/*"
upstream = "u"
auth = "api_key"
ip = { allow = ["10.0.0.0/8", "2001:db8::/32"], deny = ["10.9.0.0/16"] }
`);
});

afterAll(async () => {
  await gw?.stop();
  upstream?.stop(true);
});

const get = (path: string, headers: Record<string, string> = {}, method = "GET") =>
  fetch(`${gw.url}${path}`, { method, headers, decompress: false } as RequestInit);

describe("CORS", () => {
  const preflight = (path: string, origin: string, method: string, reqHeaders?: string) =>
    get(path, { origin, "access-control-request-method": method, ...(reqHeaders ? { "access-control-request-headers": reqHeaders } : {}) }, "OPTIONS");

  test("a preflight to a GET-only route with auth is 204 with the Allow fields, no credentials asked", async () => {
    // A GET with a custom header is preflighted; the route takes GET only, so routing alone would say 405.
    const res = await preflight("/ro/x", "https://app.example", "GET", "X-Custom, Content-Type");
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    expect(res.headers.get("access-control-allow-methods")).toBe("GET, PUT");
    expect(res.headers.get("access-control-allow-headers")).toBe("x-custom, content-type");
    expect(res.headers.get("access-control-max-age")).toBe("600");
    expect(res.headers.get("vary")).toContain("Origin");
    expect(await res.text()).toBe("");
  });

  test("a disallowed origin, method or header gets no CORS fields (then the route answers as usual: 405)", async () => {
    for (const res of [
      await preflight("/ro/x", "https://evil.example", "GET"),
      await preflight("/ro/x", "https://app.example", "DELETE"),
      // Listed in cors.methods, but the route does not take it: the actual request would be 405 anyway.
      await preflight("/ro/x", "https://app.example", "PUT"),
      await preflight("/ro/x", "https://app.example", "GET", "x-other"),
    ]) {
      expect(res.status).toBe(405);
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
      expect(res.headers.get("access-control-allow-methods")).toBeNull();
    }
  });

  test("actual request: origin echoed, credentials, expose, Vary: Origin", async () => {
    const res = await get("/ro/x", { origin: "https://app.example", "x-api-key": "key-edge-0123456789abc" });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    expect(res.headers.get("access-control-expose-headers")).toBe("x-total");
    expect(res.headers.get("vary")).toContain("Origin");
  });

  test("a refused request (401) still carries the CORS fields so the page can read the error", async () => {
    const res = await get("/ro/x", { origin: "https://app.example" });
    expect(res.status).toBe(401);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
  });

  test("disallowed origin: the request goes through, without CORS fields, with Vary: Origin", async () => {
    const res = await get("/open/x", { origin: "https://evil.example" });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(res.headers.get("vary")).toContain("Origin");
  });

  test("no Origin: no CORS fields, Vary: Origin all the same", async () => {
    const res = await get("/open/x");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(res.headers.get("vary")).toContain("Origin");
  });

  test("[cors] defaults apply to a route without cors; credentials only when configured", async () => {
    const res = await get("/open/x", { origin: "https://app.example" });
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    const pre = await preflight("/open/x", "https://app.example", "POST");
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-credentials")).toBeNull();
  });

  test("cors = false turns [cors] off for the route", async () => {
    const res = await get("/nocors/x", { origin: "https://app.example" });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect((await preflight("/nocors/x", "https://app.example", "GET")).headers.get("access-control-allow-origin")).toBeNull();
  });

  test('"*" without credentials: Allow-Origin "*", any header but Authorization', async () => {
    const res = await get("/any/x", { origin: "https://whoever.example" });
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    const pre = await preflight("/any/x", "https://whoever.example", "GET", "x-a, x-b");
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-headers")).toBe("x-a, x-b");
    // Not a preflight answer: the OPTIONS goes on to the upstream, and without Allow-Headers the browser stops.
    const auth = await preflight("/any/x", "https://whoever.example", "GET", "authorization");
    expect(auth.headers.get("access-control-allow-headers")).toBeNull();
  });
});

function decode(coding: string | null, bytes: Uint8Array): string {
  const b = Buffer.from(bytes);
  if (coding === "gzip") return zlib.gunzipSync(b).toString();
  if (coding === "br") return zlib.brotliDecompressSync(b).toString();
  if (coding === "zstd") return zlib.zstdDecompressSync(b).toString();
  return b.toString();
}

describe("compression", () => {
  test("each coding decodes to the identical body, with Content-Length, Vary and a weak ETag", async () => {
    for (const coding of ["gzip", "br", "zstd"]) {
      const res = await get("/zip/big", { "accept-encoding": coding });
      expect(res.headers.get("content-encoding")).toBe(coding);
      const bytes = new Uint8Array(await res.arrayBuffer());
      expect(Number(res.headers.get("content-length"))).toBe(bytes.length);
      expect(bytes.length).toBeLessThan(BIG.length / 3);
      expect(decode(coding, bytes)).toBe(BIG);
      expect(res.headers.get("vary")).toContain("Accept-Encoding");
      expect(res.headers.get("etag")).toBe('W/"v1"');
    }
  });

  const negotiated: [string, string | null][] = [
    ["gzip, br, zstd", "zstd"], // tie: the server's order
    ["gzip;q=1, br;q=0.9", "gzip"],
    ["gzip;q=0, br;q=0.5", "br"],
    ["*;q=0.1, gzip;q=0.5", "gzip"],
    ["*", "zstd"],
    ["*;q=0", null],
    ["identity", null],
    ["gzip;q=0", null],
    ["x-gzip", "gzip"],
    ["deflate", null],
    ["gzip;q=0.5, identity;q=0", "gzip"],
    ["br, *;q=0", "br"],
    ["*;q=0, identity", null],
    // Nothing acceptable, identity refused too: the field is disregarded (RFC 9110 §12.1), a 200 in identity, not a 406.
    ["identity;q=0", null],
    ["gzip;q=0, identity;q=0", null],
  ];
  for (const [accept, want] of negotiated) {
    test(`Accept-Encoding ${JSON.stringify(accept)} -> ${want ?? "identity"}`, async () => {
      const res = await get("/zip/big", { "accept-encoding": accept });
      expect(res.headers.get("content-encoding")).toBe(want);
      expect(decode(want, new Uint8Array(await res.arrayBuffer()))).toBe(BIG);
    });
  }

  test("no Accept-Encoding: identity, with Vary and the strong ETag kept", async () => {
    const res = await get("/zip/big");
    expect(res.headers.get("content-encoding")).toBeNull();
    expect(res.headers.get("etag")).toBe('"v1"');
    expect(res.headers.get("vary")).toContain("Accept-Encoding");
    expect(await res.text()).toBe(BIG);
  });

  test("left alone: already encoded, small, not compressible, no-transform, 204, HEAD", async () => {
    const enc = await get("/zip/encoded", { "accept-encoding": "br, zstd" });
    expect(enc.headers.get("content-encoding")).toBe("gzip");
    expect(zlib.gunzipSync(Buffer.from(await enc.arrayBuffer())).toString()).toBe(BIG);
    for (const path of ["/zip/small", "/zip/png", "/zip/no-transform"]) {
      const res = await get(path, { "accept-encoding": "gzip" });
      expect(res.headers.get("content-encoding")).toBeNull();
      await res.arrayBuffer();
    }
    const asked = await get("/zip/big", { "accept-encoding": "gzip", "cache-control": "no-transform" });
    expect(asked.headers.get("content-encoding")).toBeNull();
    expect(await asked.text()).toBe(BIG);
    const empty = await get("/zip/empty", { "accept-encoding": "gzip" });
    expect(empty.status).toBe(204);
    expect(empty.headers.get("content-encoding")).toBeNull();
    const head = await get("/zip/big", { "accept-encoding": "gzip" }, "HEAD");
    expect(head.headers.get("content-encoding")).toBeNull();
  });

  test("a client that refused identity gets a coding even under min_size; 204 and uncompressible types stay identity", async () => {
    const small = await get("/zip/small", { "accept-encoding": "gzip, identity;q=0" });
    expect(small.headers.get("content-encoding")).toBe("gzip");
    expect(JSON.parse(decode("gzip", new Uint8Array(await small.arrayBuffer())))).toEqual({ ok: true });
    const png = await get("/zip/png", { "accept-encoding": "gzip, identity;q=0" });
    expect(png.headers.get("content-encoding")).toBeNull();
    expect((await png.arrayBuffer()).byteLength).toBe(4096);
    expect((await get("/zip/empty", { "accept-encoding": "gzip, identity;q=0" })).headers.get("content-encoding")).toBeNull();
  });

  test("304 (RFC 9110 §15.4.5): the ETag weakened as the 200's was when the client holds the encoded variant, Vary kept", async () => {
    const full = await get("/zip/cond", { "accept-encoding": "gzip" });
    expect(full.headers.get("etag")).toBe('W/"v1"');
    await full.arrayBuffer();
    const again = await get("/zip/cond", { "accept-encoding": "gzip", "if-none-match": 'W/"v1"' });
    expect(again.status).toBe(304);
    expect(again.headers.get("etag")).toBe('W/"v1"');
    expect(again.headers.get("vary")).toContain("Accept-Encoding");
    expect(again.headers.get("content-encoding")).toBeNull();
    // A client that holds the identity variant (strong tag) gets the strong tag back.
    const plain = await get("/zip/cond", { "if-none-match": '"v1"' });
    expect(plain.status).toBe(304);
    expect(plain.headers.get("etag")).toBe('"v1"');
  });

  test("a route without compression is never compressed", async () => {
    const res = await get("/open/big", { "accept-encoding": "gzip" });
    expect(res.headers.get("content-encoding")).toBeNull();
    expect(await res.text()).toBe(BIG);
  });

  test("a streaming body is compressed as it streams: the first chunk arrives before the upstream finishes", async () => {
    for (const coding of ["gzip", "br", "zstd"]) {
      const t0 = performance.now();
      const res = await get("/zip/stream", { "accept-encoding": coding });
      expect(res.headers.get("content-encoding")).toBe(coding);
      expect(res.headers.get("content-length")).toBeNull();
      const reader = res.body!.getReader();
      const chunks: Uint8Array[] = [];
      const first = await reader.read();
      const firstAt = performance.now() - t0;
      chunks.push(first.value!);
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
      }
      const total = performance.now() - t0;
      expect(firstAt).toBeLessThan(250);
      expect(total).toBeGreaterThan(800);
      const text = decode(coding, Buffer.concat(chunks));
      expect(text.trim().split("\n").map((l) => JSON.parse(l).n)).toEqual([0, 1, 2]);
    }
  });
});

describe("compression of broken and tiny streams", () => {
  test("an upstream that breaks mid-stream ends the compressed response with an error, and the gateway serves on", async () => {
    const res = await get("/zip/dies", { "accept-encoding": "gzip" });
    expect(res.headers.get("content-encoding")).toBe("gzip");
    // Either the read fails (the connection is cut) or what arrived is a truncated gzip stream: never a whole body.
    let whole = false;
    try {
      zlib.gunzipSync(Buffer.from(await res.arrayBuffer()));
      whole = true;
    } catch {}
    expect(whole).toBe(false);
    expect((await get("/zip/big", { "accept-encoding": "gzip" })).status).toBe(200);
  });

  test("SSE events of a few bytes each reach the client one by one, compressed (a stream has no known size: min_size does not hold it back)", async () => {
    const res = await get("/zip/sse", { "accept-encoding": "br" });
    expect(res.headers.get("content-encoding")).toBe("br");
    const reader = res.body!.getReader();
    const first = await reader.read();
    const dec = zlib.createBrotliDecompress();
    const out: Buffer[] = [];
    dec.on("data", (b: Buffer) => out.push(b));
    await new Promise<void>((r) => dec.write(first.value!, () => r()));
    await Bun.sleep(20);
    expect(Buffer.concat(out).toString()).toBe("data: 0\n\n");
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      dec.write(value);
    }
    await new Promise<void>((r) => dec.end(() => r()));
    await Bun.sleep(20);
    expect(Buffer.concat(out).toString()).toBe("data: 0\n\ndata: 1\n\n");
  });
});

describe("IP filters", () => {
  const key = { "x-api-key": "key-edge-0123456789abc" };
  test("route allow list: the client address after trusted proxies, IPv4 and IPv6", async () => {
    expect((await get("/office/x", { ...key, "x-forwarded-for": "10.1.2.3" })).status).toBe(200);
    expect((await get("/office/x", { ...key, "x-forwarded-for": "2001:db8::7" })).status).toBe(200);
    const out = await get("/office/x", { ...key, "x-forwarded-for": "192.168.1.1" });
    expect(out.status).toBe(403);
    expect(out.headers.get("content-type")).toContain("application/json");
    expect(((await out.json()) as { error: string }).error).toBe("forbidden");
    expect((await get("/office/x", { ...key, "x-forwarded-for": "2001:db9::1" })).status).toBe(403);
  });

  test("deny wins over allow; a denied client gets 403 before auth (not 401)", async () => {
    expect((await get("/office/x", { ...key, "x-forwarded-for": "10.9.1.1" })).status).toBe(403);
    expect((await get("/office/x", { "x-forwarded-for": "192.168.1.1" })).status).toBe(403);
    expect((await get("/office/x", { "x-forwarded-for": "10.1.2.3" })).status).toBe(401);
  });

  test("the rightmost untrusted address counts: a spoofed leftmost entry does not get in", async () => {
    expect((await get("/office/x", { ...key, "x-forwarded-for": "10.1.2.3, 192.168.1.1" })).status).toBe(403);
  });

  test("[server] ip applies to every request before routing, 404s included", async () => {
    expect((await get("/open/x", { "x-forwarded-for": "203.0.113.9" })).status).toBe(403);
    expect((await get("/nowhere", { "x-forwarded-for": "203.0.113.9" })).status).toBe(403);
    expect((await get("/nowhere", { "x-forwarded-for": "198.51.100.1" })).status).toBe(404);
  });
});
