import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rawRequest, startGateway, type GatewayProcess } from "../helpers/gateway.ts";

/** An upstream that records what it received and echoes it back. */
function startEcho() {
  const seen: { method: string; url: string; headers: Record<string, string>; bodyLength: number }[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      if (url.pathname === "/watch-abort") {
        await Bun.sleep(1500);
        abortSeenByUpstream = req.signal.aborted;
        return new Response("late");
      }
      if (url.pathname === "/slow") {
        await Bun.sleep(Number(url.searchParams.get("ms") ?? 2000));
        return new Response("slow done");
      }
      if (url.pathname === "/echo-body") {
        const bytes = await req.bytes();
        seen.push({ method: req.method, url: req.url, headers: Object.fromEntries(req.headers), bodyLength: bytes.length });
        return new Response(bytes, { headers: { "content-type": "application/octet-stream" } });
      }
      if (url.pathname === "/hop") {
        return new Response("hop", {
          headers: { connection: "x-secret-hop", "x-secret-hop": "1", "keep-alive": "timeout=5", "x-kept": "yes" },
        });
      }
      if (url.pathname === "/cookies") {
        const h = new Headers();
        h.append("set-cookie", "a=1; Path=/");
        h.append("set-cookie", "b=2; Path=/");
        return new Response("cookies", { headers: h });
      }
      const body = req.body ? await req.text() : "";
      seen.push({ method: req.method, url: req.url, headers: Object.fromEntries(req.headers), bodyLength: body.length });
      return Response.json({ method: req.method, path: url.pathname, search: url.search, headers: Object.fromEntries(req.headers), body });
    },
  });
  return { server, seen, url: `http://127.0.0.1:${server.port}` };
}

let echo: ReturnType<typeof startEcho>;
let abortSeenByUpstream: boolean | null = null;
let gw: GatewayProcess;

function config(upstreamUrl: string, extra = ""): string {
  return `
[server]
listen = "127.0.0.1:0"
workers = 1
max_body_size = "2MB"
max_url_length = "2KB"
trusted_proxies = ["10.9.9.9/32"]
drain_timeout = "5s"

[[upstreams]]
name = "echo"
targets = [{ url = "${upstreamUrl}" }]
timeouts = { connect = "1s", read = "1s" }
retries = 0

[[upstreams]]
name = "dead"
targets = [{ url = "http://127.0.0.1:1" }]
timeouts = { connect = "500ms", read = "1s" }
retries = 0

[[routes]]
name = "api"
path = "/api/*"
methods = ["GET", "POST", "PUT", "HEAD"]
upstream = "echo"
strip_prefix = "/api"

[[routes]]
name = "long"
path = "/long/*"
upstream = "echo"
strip_prefix = "/long"
timeout = "5s"

[[routes]]
name = "exact"
path = "/exact"
methods = ["GET"]
upstream = "echo"

[[routes]]
name = "dead"
path = "/dead/*"
upstream = "dead"
${extra}`;
}

beforeAll(async () => {
  echo = startEcho();
  gw = await startGateway(config(echo.url));
});

afterAll(async () => {
  await gw?.stop();
  echo?.server.stop(true);
});

describe("forwarding", () => {
  test("method, stripped path and raw query reach the upstream unchanged", async () => {
    const res = await fetch(`${gw.url}/api/users/42?b=2&a=%20x&a=1`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { method: string; path: string; search: string };
    expect(body.method).toBe("GET");
    expect(body.path).toBe("/users/42");
    expect(body.search).toBe("?b=2&a=%20x&a=1");
  });

  test("X-Forwarded-* and X-Real-IP are set from the peer; a client's own are not believed from an untrusted peer", async () => {
    const res = await fetch(`${gw.url}/api/x`, {
      headers: { "x-forwarded-for": "6.6.6.6", "x-real-ip": "6.6.6.6", "x-forwarded-proto": "https", "x-forwarded-host": "evil" },
    });
    const { headers } = (await res.json()) as { headers: Record<string, string> };
    expect(headers["x-forwarded-for"]).toBe("127.0.0.1");
    expect(headers["x-real-ip"]).toBe("127.0.0.1");
    expect(headers["x-forwarded-proto"]).toBe("http");
    expect(headers["x-forwarded-host"]).toBe(`127.0.0.1:${gw.port}`);
    expect(headers.host).toBe(new URL(echo.url).host);
  });

  test("X-Request-ID is kept when the client sends one, generated otherwise, and echoed", async () => {
    const kept = await fetch(`${gw.url}/api/x`, { headers: { "x-request-id": "trace-abc-123" } });
    expect(kept.headers.get("x-request-id")).toBe("trace-abc-123");
    expect(((await kept.json()) as { headers: Record<string, string> }).headers["x-request-id"]).toBe("trace-abc-123");
    const made = await fetch(`${gw.url}/api/x`);
    const id = made.headers.get("x-request-id")!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(((await made.json()) as { headers: Record<string, string> }).headers["x-request-id"]).toBe(id);
    const bad = await fetch(`${gw.url}/api/x`, { headers: { "x-request-id": 'has"quote' } });
    expect(bad.headers.get("x-request-id")).not.toBe('has"quote');
    await bad.text();
  });

  test("hop-by-hop headers are removed both ways, including those named in Connection", async () => {
    const raw = await rawRequest(
      gw.port,
      "GET /api/x HTTP/1.1\r\nHost: a\r\nConnection: close, x-hop-a\r\nX-Hop-A: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: h2c\r\nProxy-Authorization: Basic eA==\r\nX-Kept: k\r\n\r\n",
    );
    const body = JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4).replace(/^[0-9a-f]+\r\n/, "").replace(/\r\n0\r\n\r\n$/, ""));
    for (const h of ["x-hop-a", "keep-alive", "te", "upgrade", "proxy-authorization"]) expect(body.headers[h]).toBeUndefined();
    expect(body.headers["x-kept"]).toBe("k");
    const res = await fetch(`${gw.url}/api/hop`);
    expect(res.headers.get("x-secret-hop")).toBeNull();
    expect(res.headers.get("keep-alive")).toBeNull();
    expect(res.headers.get("x-kept")).toBe("yes");
    await res.text();
  });

  test("several Set-Cookie headers stay separate", async () => {
    const res = await fetch(`${gw.url}/api/cookies`);
    expect(res.headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2; Path=/"]);
    await res.text();
  });

  test("identity headers sent by a client never reach the upstream", async () => {
    const res = await fetch(`${gw.url}/api/x`, { headers: { "x-consumer": "admin", "x-user-id": "root", "x-user-roles": "admin" } });
    const { headers } = (await res.json()) as { headers: Record<string, string> };
    expect(headers["x-consumer"]).toBeUndefined();
    expect(headers["x-user-id"]).toBeUndefined();
    expect(headers["x-user-roles"]).toBeUndefined();
  });

  test("a 1.5 MB body arrives byte-identical, both ways", async () => {
    const payload = new Uint8Array(1_500_000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7919) & 0xff;
    const res = await fetch(`${gw.url}/api/echo-body`, { method: "POST", body: payload });
    expect(res.status).toBe(200);
    const back = new Uint8Array(await res.arrayBuffer());
    expect(back.length).toBe(payload.length);
    expect(Bun.hash(back)).toBe(Bun.hash(payload));
  });

  test("a chunked request body streams through", async () => {
    const parts = ["alpha-", "beta-", "gamma"];
    const stream = new ReadableStream<Uint8Array>({
      async pull(c) {
        const p = parts.shift();
        if (p === undefined) c.close();
        else c.enqueue(new TextEncoder().encode(p));
      },
    });
    const res = await fetch(`${gw.url}/api/echo-body`, { method: "PUT", body: stream });
    expect(await res.text()).toBe("alpha-beta-gamma");
  });

  test("200 concurrent requests all succeed", async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => fetch(`${gw.url}/api/n/${i}`).then(async (r) => [r.status, ((await r.json()) as { path: string }).path])),
    );
    results.forEach(([status, path], i) => {
      expect(status).toBe(200);
      expect(path).toBe(`/n/${i}`);
    });
  });

  test("HEAD gets headers and no body", async () => {
    const res = await fetch(`${gw.url}/api/x`, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("");
  });
});

describe("client going away", () => {
  test("a client that leaves while the upstream is working gets the upstream request cancelled", async () => {
    abortSeenByUpstream = null;
    const ac = new AbortController();
    const pending = fetch(`${gw.url}/long/watch-abort`, { signal: ac.signal }).catch(() => "aborted");
    await Bun.sleep(200);
    ac.abort();
    expect(await pending).toBe("aborted");
    const deadline = Date.now() + 3000;
    while (abortSeenByUpstream === null && Date.now() < deadline) await Bun.sleep(50);
    // Seen before the upstream's own 1.5 s answer, and the route's read timeout is 5 s: the client's abort did it.
    expect(abortSeenByUpstream as boolean | null).toBe(true);
  });
});

describe("errors as JSON", () => {
  test("no route → 404 JSON with the request id", async () => {
    const res = await fetch(`${gw.url}/nope`, { headers: { "x-request-id": "rid-404" } });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(await res.json()).toEqual({ error: "not_found", message: "no route matches this request", request_id: "rid-404" });
  });

  test("wrong method → 405 with Allow", async () => {
    const res = await fetch(`${gw.url}/exact`, { method: "DELETE" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
    expect(((await res.json()) as { error: string }).error).toBe("method_not_allowed");
  });

  test("refused upstream → 502 JSON without internal detail", async () => {
    const res = await fetch(`${gw.url}/dead/x`);
    expect(res.status).toBe(502);
    const text = await res.text();
    const body = JSON.parse(text);
    expect(body.error).toBe("upstream_unreachable");
    expect(text).not.toContain("127.0.0.1");
    expect(text).not.toContain("ECONNREFUSED");
  });

  test("slow upstream → 504 JSON after the read timeout", async () => {
    const t0 = performance.now();
    const res = await fetch(`${gw.url}/api/slow?ms=3000`);
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: string }).error).toBe("upstream_timeout");
    expect(performance.now() - t0).toBeLessThan(2900);
  });

  test("body over max_body_size → 413 before the upstream is contacted (Content-Length)", async () => {
    const before = echo.seen.length;
    const res = await fetch(`${gw.url}/api/echo-body`, { method: "POST", body: new Uint8Array(3 * 1024 * 1024) });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toBe("payload_too_large");
    expect(echo.seen.length).toBe(before);
  });

  test("chunked body over max_body_size → 413, counted as it streams", async () => {
    const before = echo.seen.length;
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= 3 * 1024 * 1024) return c.close();
        sent += 256 * 1024;
        c.enqueue(new Uint8Array(256 * 1024));
      },
    });
    const res = await fetch(`${gw.url}/api/echo-body`, { method: "POST", body: stream });
    expect(res.status).toBe(413);
    await res.text();
    expect(echo.seen.length).toBe(before);
  });

  test("request target over max_url_length → 414", async () => {
    const res = await fetch(`${gw.url}/api/${"a".repeat(3000)}`);
    expect(res.status).toBe(414);
    await res.text();
  });

  test("headers over Bun's 16 KiB cap → 431", async () => {
    const raw = await rawRequest(gw.port, `GET /api/x HTTP/1.1\r\nHost: a\r\nX-Big: ${"b".repeat(20_000)}\r\n\r\n`);
    expect(raw.startsWith("HTTP/1.1 431")).toBe(true);
  });

  test("liveness endpoint answers without a route", async () => {
    const res = await fetch(`${gw.url}/__health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });
});

// Request smuggling: test/integration/smuggling.test.ts; RFC 9110 proxy duties: proxy-conformance.test.ts.

describe("access log", () => {
  test("one JSON line per request on stdout", async () => {
    await (await fetch(`${gw.url}/api/logged`, { headers: { "x-request-id": "log-me-1" } })).text();
    await Bun.sleep(250);
    const line = gw.stdout().split("\n").find((l) => l.includes('"log-me-1"'))!;
    const entry = JSON.parse(line);
    expect(entry).toMatchObject({ request_id: "log-me-1", method: "GET", path: "/api/logged", status: 200, route: "api", tries: 1 });
    expect(typeof entry.duration_ms).toBe("number");
  });
});
