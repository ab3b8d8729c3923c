/**
 * Request and response transformation at its edges, through a real gateway
 * and real upstreams: a client's literal `%0d%0a` in headers and queries sent
 * to path, query and header templates (request and response side), dotted
 * and `[*]` body paths on requests, conditional requests (304 keeps the
 * weakened ETag the client holds), Range on routes whose response bodies are
 * edited, upstream bodies without Content-Length, Accept-Encoding q-values,
 * status mapping together with body edits, and the compression policy on the
 * same route.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { gunzipSync, gzipSync } from "node:zlib";
import { startGateway, type GatewayProcess } from "../helpers/gateway.ts";
import { headerOf, startRecordingUpstream, type RecordingUpstream } from "../helpers/recording-upstream.ts";

const DOC = { userId: 7, name: "Ada", internal: { score: 3 }, pad: "p".repeat(1500) };
let echo: ReturnType<typeof Bun.serve>;
let recorder: RecordingUpstream;
let gw: GatewayProcess;
const upstreamHeaders: Record<string, string>[] = [];

beforeAll(async () => {
  echo = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const url = new URL(req.url);
      upstreamHeaders.push(Object.fromEntries(req.headers));
      if (url.pathname === "/doc") {
        // A strong validator, matched weakly for If-None-Match (RFC 9110 §13.1.2), as origins do.
        const inm = req.headers.get("if-none-match");
        if (inm !== null && inm.replaceAll("W/", "").includes('"v7"')) return new Response(null, { status: 304, headers: { etag: '"v7"' } });
        if (req.headers.get("range")) {
          return new Response(JSON.stringify(DOC).slice(0, 10), {
            status: 206,
            headers: { "content-type": "application/json", "content-range": "bytes 0-9/*", etag: '"v7"' },
          });
        }
        return Response.json(DOC, { headers: { etag: '"v7"' } });
      }
      if (url.pathname === "/chunked") {
        // No Content-Length: the body arrives chunked.
        const bytes = new TextEncoder().encode(JSON.stringify(DOC));
        const stream = new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(bytes.slice(0, 100));
            c.enqueue(bytes.slice(100));
            c.close();
          },
        });
        return new Response(stream, { headers: { "content-type": "application/json; charset=utf-8" } });
      }
      if (url.pathname === "/gz") {
        return new Response(gzipSync(JSON.stringify(DOC)), { headers: { "content-type": "application/json", "content-encoding": "gzip" } });
      }
      if (url.pathname === "/created") return Response.json({ userId: 1, internal: true }, { status: 201 });
      return Response.json({ error: "no" }, { status: 404 });
    },
  });
  recorder = startRecordingUpstream();
  gw = await startGateway(`
[server]
listen = "127.0.0.1:0"

[[upstreams]]
name = "rec"
targets = [{ url = "http://127.0.0.1:${recorder.port}" }]

[[upstreams]]
name = "echo"
targets = [{ url = "http://127.0.0.1:${echo.port}" }]

[[routes]]
name = "from-headers"
path = "/h"
upstream = "rec"
request = { path = "/seg/{header.x-src}", headers = { set = { "x-copy" = "{header.x-src}" } }, query = { set = { copy = "{header.x-src}" } } }
response = { headers = { set = { "x-echo" = "{header.x-src}", "x-q" = "{query.q}" } } }

[[routes]]
name = "body-paths"
path = "/order"
methods = ["POST"]
upstream = "rec"
request = { body = { rename = { "items[*].sku" = "code", "customer.userId" = "id" }, remove = ["items[*].internal", "items[0].first"], set = { "customer.tenant" = "{header.x-tenant}", "meta.by" = "gw" } } }

[[routes]]
name = "doc"
path = "/doc"
upstream = "echo"
response = { body = { remove = ["internal", "pad"] } }

[[routes]]
name = "doc-drop"
path = "/doc-drop"
upstream = "echo"
request = { path = "/doc" }
response = { body = { remove = ["internal"] }, etag = "drop" }

[[routes]]
name = "chunked"
path = "/chunked"
upstream = "echo"
response = { body = { remove = ["pad"], rename = { userId = "id" } } }

[[routes]]
name = "gz"
path = "/gz"
upstream = "echo"
response = { body = { remove = ["pad"] } }

[[routes]]
name = "created"
path = "/created"
upstream = "echo"
response = { status = { 201 = 200 }, body = { remove = ["internal"] } }

[[routes]]
name = "compressed"
path = "/compressed"
upstream = "echo"
request = { path = "/doc" }
compression = { algorithms = ["gzip"], min_size = "1KB" }
response = { body = { rename = { userId = "id" } } }
`);
});

afterAll(async () => {
  await gw?.stop();
  echo?.stop(true);
  recorder?.stop();
});

const lastHead = () => recorder.requests[recorder.requests.length - 1]!.head;

describe("a client's %0d%0a is text, wherever a template puts it", () => {
  test("request: one path segment, one query component, one header value; no new field", async () => {
    const res = await fetch(`${gw.url}/h?q=a%0d%0ax-bad:%201`, { headers: { "x-src": "a%0d%0ax-admin: 1/../b" } });
    expect(res.status).toBe(200);
    const head = lastHead();
    expect(head.split("\r\n")[0]).toBe("GET /seg/a%250d%250ax-admin%3A%201%2F..%2Fb?q=a%0d%0ax-bad:%201&copy=a%250d%250ax-admin%3A%201%2F..%2Fb HTTP/1.1");
    expect(headerOf(head, "x-copy")).toBe("a%0d%0ax-admin: 1/../b");
    expect(headerOf(head, "x-admin")).toBeNull();
    // Response side: a header template too; the decoded query's CR/LF is removed.
    expect(res.headers.get("x-echo")).toBe("a%0d%0ax-admin: 1/../b");
    expect(res.headers.get("x-q")).toBe("ax-bad: 1");
    expect(res.headers.get("x-bad")).toBeNull();
  });
});

describe("request body paths", () => {
  test("items[*].sku, nested renames, [0] removal, templated set; Content-Length is the new body's", async () => {
    const res = await fetch(`${gw.url}/order`, {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8", "x-tenant": "acme\u00e9" },
      body: JSON.stringify({ customer: { userId: 3 }, items: [{ sku: "a", internal: 1, first: true }, { sku: "b", internal: 2 }] }),
    });
    expect(res.status).toBe(200);
    const req = recorder.requests[recorder.requests.length - 1]!;
    const sent = req.body.toString("utf8");
    expect(JSON.parse(sent)).toEqual({ customer: { id: 3, tenant: "acme\u00e9" }, items: [{ code: "a" }, { code: "b" }], meta: { by: "gw" } });
    expect(headerOf(req.head, "content-length")).toBe(String(req.body.length));
    expect(headerOf(req.head, "transfer-encoding")).toBeNull();
  });
});

describe("validators and ranges of edited bodies", () => {
  test("a 304 for the weakened tag the client holds carries that weak tag", async () => {
    const first = await fetch(`${gw.url}/doc`);
    const etag = first.headers.get("etag");
    expect(etag).toBe('W/"v7"');
    expect(await first.json()).toEqual({ userId: 7, name: "Ada" });
    const again = await fetch(`${gw.url}/doc`, { headers: { "if-none-match": etag! } });
    expect(again.status).toBe(304);
    expect(again.headers.get("etag")).toBe('W/"v7"');
    expect(await again.text()).toBe("");
  });

  test('a 304 for a tag the client holds strong stays strong; with etag = "drop" none is sent', async () => {
    const strong = await fetch(`${gw.url}/doc`, { headers: { "if-none-match": '"v7"' } });
    expect(strong.status).toBe(304);
    expect(strong.headers.get("etag")).toBe('"v7"');
    const dropped = await fetch(`${gw.url}/doc-drop`);
    expect(dropped.headers.get("etag")).toBeNull();
    const revalidated = await fetch(`${gw.url}/doc-drop`, { headers: { "if-none-match": 'W/"v7"' } });
    expect(revalidated.status).toBe(304);
    expect(revalidated.headers.get("etag")).toBeNull();
  });

  test("Range is not sent upstream: the client gets the whole edited body, 200", async () => {
    const res = await fetch(`${gw.url}/doc`, { headers: { range: "bytes=0-9", "if-range": 'W/"v7"', "x-mark": "range-1" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-range")).toBeNull();
    expect(await res.json()).toEqual({ userId: 7, name: "Ada" });
    const up = upstreamHeaders.find((h) => h["x-mark"] === "range-1")!;
    expect(up.range).toBeUndefined();
    expect(up["if-range"]).toBeUndefined();
  });
});

describe("response bodies", () => {
  test("an upstream body without Content-Length (chunked) is edited; the answer has the new length", async () => {
    const res = await fetch(`${gw.url}/chunked`);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ id: 7, name: "Ada", internal: { score: 3 } });
    expect(res.headers.get("content-length")).toBe(String(Buffer.byteLength(text)));
  });

  test("Accept-Encoding q-values: gzip;q=0 gets identity, * gets gzip back", async () => {
    const refused = await fetch(`${gw.url}/gz`, { headers: { "accept-encoding": "gzip;q=0, br;q=0.5" }, decompress: false } as RequestInit);
    expect(refused.headers.get("content-encoding")).toBeNull();
    expect(await refused.json()).toEqual({ userId: 7, name: "Ada", internal: { score: 3 } });
    const star = await fetch(`${gw.url}/gz`, { headers: { "accept-encoding": "*" }, decompress: false } as RequestInit);
    expect(star.headers.get("content-encoding")).toBe("gzip");
    const raw = new Uint8Array(await star.arrayBuffer());
    expect(star.headers.get("content-length")).toBe(String(raw.length));
    expect(JSON.parse(gunzipSync(raw).toString())).toEqual({ userId: 7, name: "Ada", internal: { score: 3 } });
  });

  test("status mapping and body edits together", async () => {
    const res = await fetch(`${gw.url}/created`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ userId: 1 });
    expect(res.headers.get("content-length")).toBe(String(text.length));
  });

  test("with the compression policy on the route, the edited body is what gets compressed", async () => {
    const res = await fetch(`${gw.url}/compressed`, { headers: { "accept-encoding": "gzip" }, decompress: false } as RequestInit);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-encoding")).toBe("gzip");
    const body = JSON.parse(gunzipSync(new Uint8Array(await res.arrayBuffer())).toString());
    expect(body.id).toBe(7);
    expect(body.userId).toBeUndefined();
    expect(body.pad.length).toBe(1500);
  });
});
