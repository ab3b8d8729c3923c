/**
 * Request and response transformation through a real gateway process, real
 * upstreams on loopback and real signed JWTs: path templates, header/query
 * edits, JSON bodies (request and response, gzip/br/zstd upstream bodies),
 * status mapping, ETag, and injection attempts through templates.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { brotliCompressSync, gunzipSync, gzipSync, zstdCompressSync } from "node:zlib";
import { startGateway, type GatewayProcess } from "../helpers/gateway.ts";
import { startRecordingUpstream, headerOf, type RecordingUpstream } from "../helpers/recording-upstream.ts";

const SECRET = "an-hs256-secret-that-is-at-least-32-bytes-long!";

async function token(claims: Record<string, unknown>): Promise<string> {
  return await new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setIssuedAt().setExpirationTime("5m").sign(new TextEncoder().encode(SECRET));
}

const USER = { userId: 7, name: "Ada", internal: { score: 3 }, items: [{ sku: "a", cost: 1 }, { sku: "b", cost: 2 }] };

let echo: ReturnType<typeof Bun.serve>;
let recorder: RecordingUpstream;
let gw: GatewayProcess;

function encoded(coding: string, bytes: Uint8Array): Uint8Array {
  if (coding === "gzip") return gzipSync(bytes);
  if (coding === "br") return brotliCompressSync(bytes);
  return zstdCompressSync(bytes);
}

beforeAll(async () => {
  echo = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      const coded = url.pathname.match(/^\/coded\/(gzip|br|zstd)$/);
      if (coded) {
        const body = encoded(coded[1]!, new TextEncoder().encode(JSON.stringify(USER)));
        return new Response(body, {
          headers: { "content-type": "application/json", "content-encoding": coded[1]!, etag: '"v1"', "content-digest": "sha-256=:x:" },
        });
      }
      if (url.pathname === "/list") return Response.json([{ userId: 1, pw: "x" }, { userId: 2, pw: "y" }]);
      if (url.pathname === "/created") return Response.json({ userId: 9 }, { status: 201 });
      if (url.pathname === "/text") return new Response("userId plain", { headers: { "content-type": "text/plain" } });
      if (url.pathname === "/big") return Response.json({ userId: 1, pad: "x".repeat(4000) });
      if (url.pathname === "/user") {
        return Response.json(USER, { headers: { server: "legacy/1.0", "x-powered-by": "php", etag: '"abc"' } });
      }
      return Response.json({ error: "no" }, { status: 404 });
    },
  });
  recorder = startRecordingUpstream();
  gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
access_log = true

[jwt]
secret = "${SECRET}"
algorithms = ["HS256"]

[[upstreams]]
name = "rec"
targets = [{ url = "http://127.0.0.1:${recorder.port}" }]

[[upstreams]]
name = "echo"
targets = [{ url = "http://127.0.0.1:${echo.port}" }]

[[routes]]
name = "rewrite"
path = "/api/users/:id"
upstream = "rec"
request = { path = "/v2/users/{id}", headers = { set = { "x-env" = "prod", "x-user" = "{id}" }, add = { "x-multi" = "two" }, remove = ["x-debug"], rename = { "x-old" = "x-new" } }, query = { set = { source = "gw" }, remove = ["debug"], rename = { q = "search" }, add = { tag = "{query.t}" } } }

[[routes]]
name = "claims"
path = "/claims/*"
upstream = "rec"
auth = "jwt"
request = { path = "/tenants/{claim.tenant}/{*}", headers = { set = { "x-tenant" = "{claim.tenant}", "x-from-header" = "{header.x-src}", "x-q" = "{query.q}", "x-ip" = "{client_ip}", "x-rid" = "{request_id}" } } }

[[routes]]
name = "required"
path = "/need"
upstream = "rec"
request = { headers = { set = { "x-tenant" = "{header.x-tenant!}" } } }

[[routes]]
name = "body"
path = "/body"
methods = ["POST"]
upstream = "rec"
strip_prefix = "/body"
request = { body = { rename = { userId = "id" }, remove = ["internal"], set = { "meta.source" = "gateway" }, add = { "meta.version" = 1 }, max_size = "1KB" } }

[[routes]]
name = "strict-body"
path = "/strict"
methods = ["POST"]
upstream = "rec"
request = { body = { remove = ["x"], max_size = "1KB", strict = true } }

[[routes]]
name = "resp"
path = "/user"
upstream = "echo"
response = { headers = { remove = ["server", "x-powered-by"], set = { "x-version" = "2" } }, body = { rename = { userId = "id", "items[*].sku" = "code" }, remove = ["internal", "items[*].cost"], set = { v = 2 } } }

[[routes]]
name = "coded"
path = "/coded/:c"
upstream = "echo"
response = { body = { allow = ["userId", "name"], rename = { userId = "id" } } }

[[routes]]
name = "coded-drop"
path = "/drop/:c"
upstream = "echo"
request = { path = "/coded/{c}" }
response = { body = { remove = ["internal"] }, etag = "drop" }

[[routes]]
name = "list"
path = "/list"
upstream = "echo"
response = { body = { allow = ["userId"], rename = { userId = "id" } } }

[[routes]]
name = "status"
path = "/created"
upstream = "echo"
response = { status = { 201 = 200 } }

[[routes]]
name = "text"
path = "/text"
upstream = "echo"
response = { body = { remove = ["userId"] } }

[[routes]]
name = "big"
path = "/big"
upstream = "echo"
response = { body = { remove = ["userId"], max_size = "1KB" } }
`);
});

afterAll(async () => {
  await gw?.stop();
  echo?.stop(true);
  recorder?.stop();
});

function lastHead(): string {
  return recorder.requests[recorder.requests.length - 1]!.head;
}

describe("request transformation", () => {
  test("path template, header and query edits in order", async () => {
    const res = await fetch(`${gw.url}/api/users/42?q=bun&debug=1&t=x%26y&keep=%7E`, {
      headers: { "x-debug": "1", "x-old": "o", "x-multi": "one" },
    });
    expect(res.status).toBe(200);
    const head = lastHead();
    expect(head.split("\r\n")[0]).toBe("GET /v2/users/42?search=bun&t=x%26y&keep=%7E&source=gw&tag=x%26y HTTP/1.1");
    expect(headerOf(head, "x-env")).toBe("prod");
    expect(headerOf(head, "x-user")).toBe("42");
    expect(headerOf(head, "x-debug")).toBeNull();
    expect(headerOf(head, "x-old")).toBeNull();
    expect(headerOf(head, "x-new")).toBe("o");
    expect(headerOf(head, "x-multi")).toBe("one, two");
  });

  test("a route param can neither add a segment nor climb out of the path", async () => {
    await fetch(`${gw.url}/api/users/..%2F..%2Fadmin`);
    expect(lastHead().split("\r\n")[0]).toBe("GET /v2/users/..%2F..%2Fadmin?source=gw&tag= HTTP/1.1");
  });

  test("claims, headers, query, client ip and request id in templates", async () => {
    const jwt = await token({ sub: "u1", tenant: "acme" });
    const res = await fetch(`${gw.url}/claims/a/b?q=z`, { headers: { authorization: `Bearer ${jwt}`, "x-src": "web", "x-request-id": "rid-42" } });
    expect(res.status).toBe(200);
    const head = lastHead();
    expect(head.split("\r\n")[0]).toBe("GET /tenants/acme/a/b?q=z HTTP/1.1");
    expect(headerOf(head, "x-tenant")).toBe("acme");
    expect(headerOf(head, "x-from-header")).toBe("web");
    expect(headerOf(head, "x-q")).toBe("z");
    expect(headerOf(head, "x-ip")).toBe("127.0.0.1");
    expect(headerOf(head, "x-rid")).toBe("rid-42");
  });

  test("CR/LF in a claim, and %0d%0a in a query, never inject a header or a path", async () => {
    const jwt = await token({ sub: "u1", tenant: "evil\r\nx-admin: 1" });
    const res = await fetch(`${gw.url}/claims/x?q=a%0d%0ax-admin:%201`, { headers: { authorization: `Bearer ${jwt}` } });
    expect(res.status).toBe(200);
    const head = lastHead();
    expect(headerOf(head, "x-admin")).toBeNull();
    expect(headerOf(head, "x-tenant")).toBe("evilx-admin: 1");
    expect(headerOf(head, "x-q")).toBe("ax-admin: 1");
    expect(head.split("\r\n")[0]).toBe("GET /tenants/evil%0D%0Ax-admin%3A%201/x?q=a%0d%0ax-admin:%201 HTTP/1.1");
    const slash = await token({ tenant: "../../etc" });
    await fetch(`${gw.url}/claims/x`, { headers: { authorization: `Bearer ${slash}` } });
    expect(lastHead().split("\r\n")[0]).toBe("GET /tenants~..%2F..%2Fetc/x HTTP/1.1".replace("~", "/"));
  });

  test("a required template value missing is a 400 JSON error, and nothing goes upstream", async () => {
    const before = recorder.requests.length;
    const res = await fetch(`${gw.url}/need`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe("bad_request");
    expect(body.message).toContain("{header.x-tenant!}");
    expect(recorder.requests.length).toBe(before);
    expect((await fetch(`${gw.url}/need`, { headers: { "x-tenant": "t1" } })).status).toBe(200);
    expect(headerOf(lastHead(), "x-tenant")).toBe("t1");
  });

  test("JSON body: remove → rename → set → add, Content-Length recomputed", async () => {
    const res = await fetch(`${gw.url}/body`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ userId: 5, internal: true, meta: { version: 0 } }),
    });
    expect(res.status).toBe(200);
    const req = recorder.requests[recorder.requests.length - 1]!;
    const sent = req.body.toString("utf8");
    expect(JSON.parse(sent)).toEqual({ id: 5, meta: { version: 0, source: "gateway" } });
    expect(headerOf(req.head, "content-length")).toBe(String(Buffer.byteLength(sent)));
  });

  test("chunked JSON bodies are edited too", async () => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('{"userId":'));
        c.enqueue(new TextEncoder().encode("6}"));
        c.close();
      },
    });
    const res = await fetch(`${gw.url}/body`, { method: "POST", headers: { "content-type": "application/json" }, body, duplex: "half" } as RequestInit);
    expect(res.status).toBe(200);
    expect(JSON.parse(recorder.requests[recorder.requests.length - 1]!.body.toString())).toEqual({ id: 6, meta: { source: "gateway", version: 1 } });
  });

  test("non-JSON, invalid and over-cap bodies pass untouched by default", async () => {
    for (const [type, body] of [
      ["text/plain", '{"userId":1}'],
      ["application/json", "{not json"],
      ["application/json", JSON.stringify({ userId: 1, pad: "x".repeat(2000) })],
    ] as const) {
      expect((await fetch(`${gw.url}/body`, { method: "POST", headers: { "content-type": type }, body })).status).toBe(200);
      expect(recorder.requests[recorder.requests.length - 1]!.body.toString()).toBe(body);
    }
  });

  test("strict = true refuses what it cannot transform: 415, 400, 413", async () => {
    const before = recorder.requests.length;
    const post = (type: string, body: string) => fetch(`${gw.url}/strict`, { method: "POST", headers: { "content-type": type }, body });
    expect((await post("text/plain", "{}")).status).toBe(415);
    expect((await post("application/json", "{x")).status).toBe(400);
    expect((await post("application/json", JSON.stringify({ pad: "x".repeat(2000) }))).status).toBe(413);
    expect(recorder.requests.length).toBe(before);
    expect((await post("application/vnd.api+json", '{"x":1,"y":2}')).status).toBe(200);
    expect(JSON.parse(recorder.requests[recorder.requests.length - 1]!.body.toString())).toEqual({ y: 2 });
  });
});

describe("response transformation", () => {
  test("headers and JSON body edited; Content-Length is the new body's; strong ETag weakened", async () => {
    const res = await fetch(`${gw.url}/user`);
    expect(res.status).toBe(200);
    expect(res.headers.get("server")).not.toBe("legacy/1.0");
    expect(res.headers.get("x-powered-by")).toBeNull();
    expect(res.headers.get("x-version")).toBe("2");
    expect(res.headers.get("etag")).toBe('W/"abc"');
    const text = await res.text();
    expect(res.headers.get("content-length")).toBe(String(Buffer.byteLength(text)));
    expect(JSON.parse(text)).toEqual({ id: 7, name: "Ada", items: [{ code: "a" }, { code: "b" }], v: 2 });
  });

  for (const coding of ["gzip", "br", "zstd"]) {
    test(`a ${coding} upstream body is decoded, edited and re-encoded for a client that accepts ${coding}`, async () => {
      const res = await fetch(`${gw.url}/coded/${coding}`, { headers: { "accept-encoding": coding }, decompress: false } as RequestInit);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-encoding")).toBe(coding);
      expect(res.headers.get("vary")?.toLowerCase()).toContain("accept-encoding");
      expect(res.headers.get("etag")).toBe('W/"v1"');
      expect(res.headers.get("content-digest")).toBeNull();
      const raw = new Uint8Array(await res.arrayBuffer());
      expect(res.headers.get("content-length")).toBe(String(raw.length));
      const { gunzipSync: gz, brotliDecompressSync: br, zstdDecompressSync: zs } = await import("node:zlib");
      const plain = coding === "gzip" ? gz(raw) : coding === "br" ? br(raw) : zs(raw);
      expect(JSON.parse(plain.toString())).toEqual({ id: 7, name: "Ada" });
    });

    test(`a ${coding} upstream body goes identity to a client that does not accept ${coding}`, async () => {
      const res = await fetch(`${gw.url}/coded/${coding}`, { headers: { "accept-encoding": "identity" }, decompress: false } as RequestInit);
      expect(res.headers.get("content-encoding")).toBeNull();
      const text = await res.text();
      expect(res.headers.get("content-length")).toBe(String(Buffer.byteLength(text)));
      expect(JSON.parse(text)).toEqual({ id: 7, name: "Ada" });
    });
  }

  test('etag = "drop" removes the upstream ETag of a transformed body', async () => {
    const res = await fetch(`${gw.url}/drop/gzip`, { headers: { "accept-encoding": "gzip" }, decompress: false } as RequestInit);
    expect(res.headers.get("etag")).toBeNull();
    const body = JSON.parse(gunzipSync(new Uint8Array(await res.arrayBuffer())).toString());
    expect(body.internal).toBeUndefined();
    expect(body.userId).toBe(7);
  });

  test("a list of objects is edited object by object", async () => {
    expect(await (await fetch(`${gw.url}/list`)).json()).toEqual([{ id: 1 }, { id: 2 }]);
  });

  test("status mapping for legacy clients", async () => {
    const res = await fetch(`${gw.url}/created`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ userId: 9 });
  });

  test("non-JSON and over-cap bodies stream through unchanged", async () => {
    expect(await (await fetch(`${gw.url}/text`)).text()).toBe("userId plain");
    const big = (await (await fetch(`${gw.url}/big`)).json()) as { userId: number; pad: string };
    expect(big.userId).toBe(1);
    expect(big.pad.length).toBe(4000);
  });

  test("the access log has the client-facing status", async () => {
    await fetch(`${gw.url}/created?log=1`);
    const deadline = Date.now() + 2000;
    while (!gw.stdout().includes('"route":"status"') && Date.now() < deadline) await Bun.sleep(20);
    const line = gw.stdout().split("\n").find((l) => l.includes('"route":"status"'));
    expect(line).toContain('"status":200');
  });
});
