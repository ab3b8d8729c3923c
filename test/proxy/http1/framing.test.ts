import { afterEach, describe, expect, test } from "bun:test";
import { GatewayError } from "../../../src/errors.ts";
import { get, poolFor, rawServer, readAll, rejection, until, type RawServer } from "./raw-server.ts";
import type { UpstreamPool } from "../../../src/client/http1/pool.ts";

/**
 * Response framing against an upstream that writes exact bytes (RFC 9112 §6),
 * and whether the connection is kept afterwards.
 */
let server: RawServer | null = null;
let pool: UpstreamPool | null = null;
afterEach(() => {
  pool?.close();
  server?.stop();
  pool = null;
  server = null;
});

/** Every request on a connection gets the same bytes; optionally closes after writing. */
function answering(bytes: string | ((i: number) => string), close = false): UpstreamPool {
  server = rawServer((req, s) => {
    s.write(Buffer.from(typeof bytes === "string" ? bytes : bytes(req.index), "latin1"));
    if (close) s.end();
  });
  pool = poolFor(server.port);
  return pool;
}

/** Two sequential requests; returns how many connections the upstream saw. */
async function twice(p: UpstreamPool, method = "GET"): Promise<{ bodies: string[]; accepted: number }> {
  const bodies: string[] = [];
  for (let i = 0; i < 2; i++) {
    const res = await get(p, { method });
    bodies.push((await readAll(res.body)).toString("latin1"));
  }
  return { bodies, accepted: server!.accepted };
}

describe("Content-Length bodies", () => {
  test("body read exactly, connection reused", async () => {
    const p = answering("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Test: yes\r\n\r\nhello");
    const res = await get(p);
    expect(res.status).toBe(200);
    expect(res.statusText).toBe("OK");
    expect(res.contentLength).toBe(5);
    expect(res.headers).toEqual([
      ["Content-Length", "5"],
      ["X-Test", "yes"],
    ]);
    expect((await readAll(res.body)).toString()).toBe("hello");
    expect((await twice(p)).accepted).toBe(1);
  });

  test("head and body split across many writes", async () => {
    server = rawServer(async (_req, s) => {
      const wire = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
      for (const ch of wire) {
        s.write(ch);
        await Bun.sleep(1);
      }
    });
    pool = poolFor(server.port);
    const res = await get(pool);
    expect((await readAll(res.body)).toString()).toBe("0123456789");
  });

  test("Content-Length: 0 gives a null body and keeps the connection", async () => {
    const p = answering("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    const res = await get(p);
    expect(res.body).toBeNull();
    expect(res.contentLength).toBe(0);
    expect((await twice(p)).accepted).toBe(1);
  });

  test("body shorter than Content-Length at EOF errors the stream", async () => {
    const p = answering("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", true);
    const res = await get(p);
    const err = await rejection(readAll(res.body));
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.kind).toBe("upstream_protocol");
    expect(err.status).toBe(502);
  });

  test("bytes beyond Content-Length: body cut at the length, connection not reused", async () => {
    const p = answering("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA");
    const { bodies, accepted } = await twice(p);
    expect(bodies).toEqual(["ok", "ok"]);
    expect(accepted).toBe(2);
  });
});

describe("chunked bodies", () => {
  test("chunks with extensions and trailers, connection reused", async () => {
    const p = answering("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;a=b\r\nWiki\r\n6\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\n");
    const res = await get(p);
    expect(res.contentLength).toBe(-1);
    expect((await readAll(res.body)).toString()).toBe("Wikipedia in \r\n\r\nchunks.");
    expect((await twice(p)).accepted).toBe(1);
  });

  test("bad chunk size with the head: the request fails with upstream_protocol", async () => {
    const p = answering("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n");
    expect((await rejection(get(p))).kind).toBe("upstream_protocol");
    await until(() => p.stats.open === 0);
  });

  test("bad chunk size later in the body: the body stream fails", async () => {
    server = rawServer(async (_req, s) => {
      s.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
      await Bun.sleep(20);
      s.write("zz\r\n");
    });
    pool = poolFor(server.port);
    const res = await get(pool);
    const err = await rejection(readAll(res.body));
    expect(err.kind).toBe("upstream_protocol");
    await until(() => pool!.stats.open === 0);
  });

  test("EOF inside a chunked body fails it", async () => {
    const p = answering("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", true);
    const res = await get(p);
    expect((await rejection(readAll(res.body))).kind).toBe("upstream_protocol");
  });

  test("a transfer coding other than a lone chunked is upstream_protocol (it could not be forwarded undecoded)", async () => {
    for (const te of ["gzip", "gzip, chunked", "chunked, gzip", "chunked, chunked"]) {
      const p = answering(`HTTP/1.1 200 OK\r\nTransfer-Encoding: ${te}\r\n\r\n0\r\n\r\n`, true);
      expect((await rejection(get(p))).kind).toBe("upstream_protocol");
    }
  });
});

describe("bodyBytes: the whole body when it came with the head", () => {
  test("Content-Length body: bytes given, stream built only on demand, same bytes", async () => {
    const p = answering("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    const res = await get(p);
    expect(Buffer.from(res.bodyBytes!).toString()).toBe("hello");
    expect((await readAll(res.body)).toString()).toBe("hello");
    // The connection was released before anyone read the body.
    expect(p.stats).toMatchObject({ idle: 1, busy: 0 });
  });

  test("chunked body decoded from the first packet: joined into one array", async () => {
    const p = answering("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
    const res = await get(p);
    expect(Buffer.from(res.bodyBytes!).toString()).toBe("abcde");
    expect(res.contentLength).toBe(-1);
    expect((await readAll(res.body)).toString()).toBe("abcde");
  });

  test("a body still arriving has no bodyBytes, only the stream", async () => {
    server = rawServer(async (_req, s) => {
      s.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab");
      await Bun.sleep(20);
      s.write("cd");
    });
    pool = poolFor(server.port);
    const res = await get(pool);
    expect(res.bodyBytes ?? null).toBeNull();
    expect((await readAll(res.body)).toString()).toBe("abcd");
  });

  test("partly decoded chunked body continues in the stream", async () => {
    server = rawServer(async (_req, s) => {
      s.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r");
      await Bun.sleep(20);
      s.write("\nde\r\n0\r\n\r\n");
    });
    pool = poolFor(server.port);
    const res = await get(pool);
    expect((await readAll(res.body)).toString()).toBe("abcde");
    expect(pool.stats).toMatchObject({ idle: 1 });
  });
});

describe("close-delimited bodies", () => {
  test("no Content-Length or Transfer-Encoding: read until EOF, never reused", async () => {
    const p = answering("HTTP/1.1 200 OK\r\nX: y\r\n\r\nall of this until close", true);
    const { bodies, accepted } = await twice(p);
    expect(bodies).toEqual(["all of this until close", "all of this until close"]);
    expect(accepted).toBe(2);
    await until(() => p.stats.open === 0);
  });
});

describe("responses without a body (§6.3 rules 1-2)", () => {
  test("HEAD ignores Content-Length and keeps the connection", async () => {
    const p = answering("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");
    const res = await get(p, { method: "HEAD" });
    expect(res.body).toBeNull();
    expect(res.contentLength).toBe(1234);
    expect((await twice(p, "HEAD")).accepted).toBe(1);
  });

  test.each([
    ["204", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"],
    ["304", "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"],
  ])("%s has no body whatever its fields say", async (_s, wire) => {
    const p = answering(wire);
    const res = await get(p);
    expect(res.body).toBeNull();
    expect((await twice(p)).accepted).toBe(1);
  });

  test("100 Continue and 103 Early Hints are skipped", async () => {
    const p = answering(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone",
    );
    const res = await get(p);
    expect(res.status).toBe(201);
    expect(res.headers).toEqual([["Content-Length", "4"]]);
    expect((await readAll(res.body)).toString()).toBe("done");
    expect((await twice(p)).accepted).toBe(1);
  });

  test("interim response split from the final one across writes", async () => {
    server = rawServer(async (_req, s) => {
      s.write("HTTP/1.1 100 Continue\r\n\r\n");
      await Bun.sleep(20);
      s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    });
    pool = poolFor(server.port);
    const res = await get(pool);
    expect(res.status).toBe(200);
    expect((await readAll(res.body)).toString()).toBe("ok");
  });

  test("101 Switching Protocols is a protocol error (never asked for)", async () => {
    const p = answering("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
    expect((await rejection(get(p))).kind).toBe("upstream_protocol");
  });

  test("endless interim responses are cut off", async () => {
    const p = answering("HTTP/1.1 100 Continue\r\n\r\n".repeat(40));
    expect((await rejection(get(p))).kind).toBe("upstream_protocol");
  });
});

describe("connection persistence", () => {
  test("Connection: close from the upstream: not reused", async () => {
    const p = answering("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
    const { bodies, accepted } = await twice(p);
    expect(bodies).toEqual(["ok", "ok"]);
    expect(accepted).toBe(2);
  });

  test("HTTP/1.0 without keep-alive: not reused", async () => {
    const p = answering("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
    expect((await twice(p)).accepted).toBe(2);
  });

  test("HTTP/1.0 with Connection: keep-alive: reused", async () => {
    const p = answering("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok");
    expect((await twice(p)).accepted).toBe(1);
  });

  test("bytes on an idle connection: it is dropped, not reused", async () => {
    server = rawServer((_req, s) => {
      s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      setTimeout(() => s.write("garbage"), 20);
    });
    pool = poolFor(server.port);
    await readAll((await get(pool)).body);
    await until(() => pool!.stats.open === 0);
    await readAll((await get(pool)).body);
    expect(server.accepted).toBe(2);
  });
});

describe("malformed responses are upstream_protocol 502, connection destroyed", () => {
  test.each([
    ["bad status line", "HTTP/1.1 OK\r\n\r\n"],
    ["not HTTP", "SSH-2.0-OpenSSH_9.6\r\n\r\n"],
    ["bad header line", "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n"],
    ["space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok"],
    ["obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n"],
    ["invalid Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n"],
    ["conflicting Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok"],
    // §6.3 rule 3: "ought to be handled as an error"; TE would override CL, we refuse instead of guessing.
    ["Transfer-Encoding and Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"],
  ])("%s", async (_why, wire) => {
    const p = answering(wire);
    const err = await rejection(get(p));
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.kind).toBe("upstream_protocol");
    expect(err.status).toBe(502);
    expect(err.message).toBe("invalid response from upstream");
    expect(String(err.message)).not.toContain("127.0.0.1");
    await until(() => p.stats.open === 0);
  });

  test("response head over 64 KiB", async () => {
    const p = answering(`HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(70 * 1024)}\r\nContent-Length: 0\r\n\r\n`);
    const err = await rejection(get(p));
    expect(err.kind).toBe("upstream_protocol");
    expect((err.cause as Error).message).toContain("too large");
  });

  test("upstream closes mid-head", async () => {
    const p = answering("HTTP/1.1 200 OK\r\nContent-Le", true);
    expect((await rejection(get(p))).kind).toBe("upstream_protocol");
  });

  test("upstream closes without answering a fresh connection", async () => {
    server = rawServer((_req, s) => s.end());
    pool = poolFor(server.port);
    const err = await rejection(get(pool));
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.status).toBe(502);
    expect(err.retryable).toBe(false);
  });
});
