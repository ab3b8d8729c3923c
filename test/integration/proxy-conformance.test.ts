/**
 * RFC 9110 / 9112 duties of a proxy, checked on the wire: a real gateway,
 * raw client sockets, and a recording upstream on loopback.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startGateway, type GatewayProcess } from "../helpers/gateway.ts";
import { RawConnection, type RawResponse } from "../helpers/raw-client.ts";
import { headerOf, startRecordingUpstream, type RecordingUpstream } from "../helpers/recording-upstream.ts";

const H = "Host: a\r\n";
let up: RecordingUpstream;
let gw: GatewayProcess;

beforeAll(async () => {
  up = startRecordingUpstream({
    "/via": "HTTP/1.1 200 OK\r\nVia: 1.0 cache-a\r\nContent-Length: 2\r\n\r\nok",
    "/dated": "HTTP/1.1 200 OK\r\nDate: Sun, 22 Nov 2026 22:00:00 GMT\r\nContent-Length: 2\r\n\r\nok",
    "/304": 'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 10\r\n\r\n',
    "/204": "HTTP/1.1 204 No Content\r\n\r\n",
    "/cl-te": "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "/bad-cl": "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nx",
    "/two-cl": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
    "/head": "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n",
    "/trace-echo": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
  });
  gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
workers = 1
access_log = false
drain_timeout = "500ms"

[[upstreams]]
name = "rec"
targets = [{ url = "http://127.0.0.1:${up.port}" }]
timeouts = { connect = "1s", read = "2s" }
retries = 0

[[routes]]
name = "read-only"
path = "/ro/*"
methods = ["GET", "OPTIONS"]
upstream = "rec"

[[routes]]
name = "all"
path = "/*"
upstream = "rec"
`);
});

afterAll(async () => {
  await gw?.stop();
  up?.stop();
});

/** One request on a fresh connection; the upstream requests it caused. */
async function exchange(wire: string, opts: { head?: boolean } = {}): Promise<{ res: RawResponse | null; sent: typeof up.requests; conn: RawConnection }> {
  const before = up.requests.length;
  const conn = await RawConnection.open(gw.port);
  conn.write(wire);
  const res = await conn.read(2000, opts);
  await Bun.sleep(20);
  return { res, sent: up.requests.slice(before), conn };
}

/** The next request on the same connection gets its own answer: nothing of the last response was left over. */
async function stillInSync(conn: RawConnection): Promise<void> {
  conn.write(`GET /follow HTTP/1.1\r\n${H}\r\n`);
  const next = await conn.read(2000);
  expect(next?.status).toBe(200);
  expect(JSON.parse(next!.body).line).toBe("GET /follow HTTP/1.1");
  conn.close();
}

describe("Via (RFC 9110 §7.6.3)", () => {
  test("added to the forwarded request, after the client's own entries", async () => {
    const plain = await exchange(`GET /x HTTP/1.1\r\n${H}\r\n`);
    expect(headerOf(plain.sent[0]!.head, "via")).toBe("1.1 gateway");
    plain.conn.close();
    const chained = await exchange(`GET /x HTTP/1.1\r\n${H}Via: 1.0 fred, 1.1 p.example\r\n\r\n`);
    expect(headerOf(chained.sent[0]!.head, "via")).toBe("1.0 fred, 1.1 p.example, 1.1 gateway");
    chained.conn.close();
  });

  test("added to the forwarded response, after the upstream's entries", async () => {
    const plain = await exchange(`GET /x HTTP/1.1\r\n${H}\r\n`);
    expect(plain.res!.headers.via).toBe("1.1 gateway");
    plain.conn.close();
    const chained = await exchange(`GET /via HTTP/1.1\r\n${H}\r\n`);
    expect(chained.res!.headers.via).toBe("1.0 cache-a, 1.1 gateway");
    chained.conn.close();
  });
});

describe("Max-Forwards and TRACE (RFC 9110 §7.6.2, §9.3.8)", () => {
  test("TRACE with Max-Forwards: 0 is answered by the gateway, as message/http, without credentials", async () => {
    const { res, sent, conn } = await exchange(
      `TRACE /t?q=1 HTTP/1.1\r\n${H}Max-Forwards: 0\r\nCookie: session=s3cr3t\r\nAuthorization: Bearer t0k3n\r\nX-Api-Key: k3y\r\nX-Trace-Me: yes\r\n\r\n`,
    );
    expect(sent.length).toBe(0);
    expect(res!.status).toBe(200);
    expect(res!.headers["content-type"]).toBe("message/http");
    expect(res!.body.startsWith("TRACE /t?q=1 HTTP/1.1\r\n")).toBe(true);
    expect(res!.body).toContain("x-trace-me: yes");
    for (const secret of ["s3cr3t", "t0k3n", "k3y"]) expect(res!.body).not.toContain(secret);
    await stillInSync(conn);
  });

  test("TRACE with Max-Forwards: 3 goes upstream with 2, and never with credentials", async () => {
    const { sent, conn } = await exchange(`TRACE /t HTTP/1.1\r\n${H}Max-Forwards: 3\r\nCookie: session=s3cr3t\r\nAuthorization: Basic eDp5\r\n\r\n`);
    expect(sent.length).toBe(1);
    expect(headerOf(sent[0]!.head, "max-forwards")).toBe("2");
    expect(headerOf(sent[0]!.head, "cookie")).toBeNull();
    expect(headerOf(sent[0]!.head, "authorization")).toBeNull();
    conn.close();
  });

  test("TRACE without Max-Forwards goes upstream, still without credentials", async () => {
    const { sent, conn } = await exchange(`TRACE /t HTTP/1.1\r\n${H}Cookie: a=1\r\n\r\n`);
    expect(sent.length).toBe(1);
    expect(headerOf(sent[0]!.head, "cookie")).toBeNull();
    expect(headerOf(sent[0]!.head, "max-forwards")).toBeNull();
    conn.close();
  });

  test("OPTIONS with Max-Forwards: 0 is answered by the gateway, with the route's methods", async () => {
    const { res, sent, conn } = await exchange(`OPTIONS /ro/x HTTP/1.1\r\n${H}Max-Forwards: 0\r\n\r\n`);
    expect(sent.length).toBe(0);
    expect(res!.status).toBe(200);
    expect(res!.headers.allow).toBe("GET, HEAD, OPTIONS");
    expect(res!.body).toBe("");
    await stillInSync(conn);
  });

  test("OPTIONS with Max-Forwards: 1 goes upstream with 0; cookies stay (only TRACE drops them)", async () => {
    const { sent, conn } = await exchange(`OPTIONS /x HTTP/1.1\r\n${H}Max-Forwards: 1\r\nCookie: a=1\r\n\r\n`);
    expect(headerOf(sent[0]!.head, "max-forwards")).toBe("0");
    expect(headerOf(sent[0]!.head, "cookie")).toBe("a=1");
    conn.close();
  });

  test("Max-Forwards on other methods is forwarded unchanged (§7.6.2: only TRACE and OPTIONS)", async () => {
    const { sent, conn } = await exchange(`GET /x HTTP/1.1\r\n${H}Max-Forwards: 0\r\n\r\n`);
    expect(headerOf(sent[0]!.head, "max-forwards")).toBe("0");
    conn.close();
  });
});

describe("CONNECT (RFC 9110 §9.3.6)", () => {
  test("501 JSON, connection closed, no upstream contacted", async () => {
    const { res, sent, conn } = await exchange(`CONNECT upstream.example:443 HTTP/1.1\r\nHost: upstream.example:443\r\n\r\n`);
    expect(res!.status).toBe(501);
    expect(JSON.parse(res!.body).error).toBe("not_implemented");
    expect(sent.length).toBe(0);
    expect(await conn.waitClosed(1500)).toBe(true);
  });
});

describe("Expect: 100-continue (RFC 9110 §10.1.1)", () => {
  test("a client that waits for 100 before sending its body gets it, then the answer; Expect is not forwarded", async () => {
    const before = up.requests.length;
    const conn = await RawConnection.open(gw.port);
    conn.write(`POST /upload HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 5\r\n\r\n`);
    const interim = await conn.read(1500);
    expect(interim?.status).toBe(100);
    conn.write("hello");
    const res = await conn.read(2000);
    expect(res?.status).toBe(200);
    expect(JSON.parse(res!.body)).toEqual({ line: "POST /upload HTTP/1.1", body: "hello" });
    const sent = up.requests.slice(before);
    expect(sent.length).toBe(1);
    expect(headerOf(sent[0]!.head, "expect")).toBeNull();
    await stillInSync(conn);
  });

  test("a request refused before its body is read (413) does not leave the waiting client hanging", async () => {
    const before = up.requests.length;
    const conn = await RawConnection.open(gw.port);
    conn.write(`POST /upload HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 20000000\r\n\r\n`);
    let res = await conn.read(1500);
    // Bun sends 100 Continue itself as soon as it has the head; the final answer follows.
    if (res?.status === 100) res = await conn.read(1500);
    expect(res?.status).toBe(413);
    expect(await conn.waitClosed(1500)).toBe(true);
    expect(up.requests.length).toBe(before);
  });
});

describe("Upgrade (RFC 9110 §7.8)", () => {
  test("forwarded as a plain request, without Upgrade or what Connection named", async () => {
    const { res, sent, conn } = await exchange(
      `GET /ws HTTP/1.1\r\n${H}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: websocket\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\nSec-WebSocket-Key: dGhlIHNhbXBsZQ==\r\n\r\n`,
    );
    expect(res!.status).toBe(200);
    const head = sent[0]!.head;
    expect(headerOf(head, "upgrade")).toBeNull();
    expect(headerOf(head, "connection")).toBeNull();
    expect(headerOf(head, "http2-settings")).toBeNull();
    await stillInSync(conn);
  });
});

describe("responses", () => {
  test("Date on every response: added when the upstream sent none, the upstream's kept otherwise, also for HEAD and errors", async () => {
    for (const [wire, head] of [
      [`GET /x HTTP/1.1\r\n${H}\r\n`, false],
      [`HEAD /head HTTP/1.1\r\n${H}\r\n`, true],
      [`HEAD /ro/x HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n`, true],
      [`HEAD /__health HTTP/1.1\r\n${H}\r\n`, true],
      [`HEAD /x#f HTTP/1.1\r\n${H}\r\n`, true],
    ] as const) {
      const { res, conn } = await exchange(wire, { head });
      expect(res!.headers.date).toMatch(/^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$/);
      conn.close();
    }
    const dated = await exchange(`GET /dated HTTP/1.1\r\n${H}\r\n`);
    expect(dated.res!.headers.date).toBe("Sun, 22 Nov 2026 22:00:00 GMT");
    dated.conn.close();
  });

  test("HEAD: the upstream's length, no body", async () => {
    const { res, conn } = await exchange(`HEAD /head HTTP/1.1\r\n${H}\r\n`, { head: true });
    expect(res!.status).toBe(200);
    expect(res!.headers["content-length"]).toBe("5");
    await stillInSync(conn);
  });

  test("304 and 204 from the upstream reach the client without a body", async () => {
    for (const path of ["/304", "/204"]) {
      const { res, conn } = await exchange(`GET ${path} HTTP/1.1\r\n${H}\r\n`);
      expect(res!.status).toBe(Number(path.slice(1)));
      expect(res!.body).toBe("");
      await stillInSync(conn);
    }
  });

  test("an upstream response with both Content-Length and Transfer-Encoding, or a bad Content-Length, is 502", async () => {
    for (const path of ["/cl-te", "/bad-cl", "/two-cl"]) {
      const { res, conn } = await exchange(`GET ${path} HTTP/1.1\r\n${H}\r\n`);
      expect(res!.status).toBe(502);
      expect(JSON.parse(res!.body).error).toBe("upstream_protocol");
      await stillInSync(conn);
    }
  });
});
