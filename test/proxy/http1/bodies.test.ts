import { afterEach, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { GatewayError } from "../../../src/errors.ts";
import type { UpstreamPool } from "../../../src/client/http1/pool.ts";
import { get, poolFor, rawServer, readAll, rejection, until, type RawServer } from "./raw-server.ts";

/** Bodies both ways, timeouts, aborts; against raw sockets and against Bun.serve. */
let server: RawServer | null = null;
let http: Server<undefined> | null = null;
let pool: UpstreamPool | null = null;
afterEach(() => {
  pool?.close();
  server?.stop();
  http?.stop(true);
  pool = null;
  server = null;
  http = null;
});

const MB15 = 1.5 * 1024 * 1024;

function pattern(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 11)) & 0xff;
  return b;
}

function streamOf(chunks: Uint8Array[], delay = 0): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      if (delay) await Bun.sleep(delay);
      if (i < chunks.length) c.enqueue(chunks[i++]!);
      else c.close();
    },
  });
}

describe("against Bun.serve", () => {
  function echo(): UpstreamPool {
    http = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const url = new URL(req.url);
        if (url.pathname === "/stream") {
          let n = 0;
          return new Response(
            new ReadableStream({
              async pull(c) {
                await Bun.sleep(1);
                if (n++ < 5) c.enqueue(new TextEncoder().encode(`part${n};`));
                else c.close();
              },
            }),
          );
        }
        if (url.pathname === "/big") return new Response(new Uint8Array(pattern(MB15)));
        const body = await req.bytes();
        return new Response(body, { status: 201, headers: { "x-method": req.method, "x-len": String(body.length) } });
      },
    });
    pool = poolFor(http.port!);
    return pool;
  }

  test("GET and POST echo, keep-alive reuse", async () => {
    const p = echo();
    const res = await get(p);
    expect(res.status).toBe(201);
    expect(res.headers.find(([k]) => k.toLowerCase() === "x-method")?.[1]).toBe("GET");
    await readAll(res.body);
    const body = Buffer.from("x".repeat(1024));
    for (let i = 0; i < 3; i++) {
      const r = await p.request(`POST /e HTTP/1.1\r\nhost: a\r\ncontent-length: 1024\r\n\r\n`, body, { readTimeout: 1000, method: "POST" });
      expect((await readAll(r.body)).equals(body)).toBe(true);
    }
    expect(p.stats.open).toBe(1);
  });

  test("streamed (chunked) response from a ReadableStream", async () => {
    const res = await get(echo(), { path: "/stream" });
    expect(res.contentLength).toBe(-1);
    expect((await readAll(res.body)).toString()).toBe("part1;part2;part3;part4;part5;");
  });

  test("1.5 MB request body (Uint8Array) and 1.5 MB response body, byte-identical", async () => {
    const p = echo();
    const body = pattern(MB15);
    const r = await p.request(`POST /e HTTP/1.1\r\nhost: a\r\ncontent-length: ${body.length}\r\n\r\n`, body, { readTimeout: 5000, method: "POST" });
    const back = await readAll(r.body);
    expect(back.length).toBe(body.length);
    expect(back.equals(body)).toBe(true);
    const big = await readAll((await get(p, { path: "/big" })).body);
    expect(big.equals(pattern(MB15))).toBe(true);
    expect(p.stats.open).toBe(1);
  });

  test("1.5 MB streamed request body, chunk-encoded by the pool", async () => {
    const p = echo();
    const body = pattern(MB15);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < body.length; i += 100_000) chunks.push(body.subarray(i, Math.min(body.length, i + 100_000)));
    const r = await p.request(`POST /e HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n`, streamOf(chunks), { readTimeout: 5000, method: "POST" });
    expect((await readAll(r.body)).equals(body)).toBe(true);
    // Reused after a streamed request too.
    await readAll((await get(p)).body);
    expect(p.stats.open).toBe(1);
  });

  test("streamed request body with Content-Length is sent as is", async () => {
    const p = echo();
    const r = await p.request(
      `POST /e HTTP/1.1\r\nhost: a\r\ncontent-length: 6\r\n\r\n`,
      streamOf([Buffer.from("abc"), new Uint8Array(0), Buffer.from("def")], 2),
      { readTimeout: 1000, method: "POST" },
    );
    expect((await readAll(r.body)).toString()).toBe("abcdef");
  });
});

describe("request bodies on the wire", () => {
  /** An upstream that stops reading for a while after the first bytes, so the pool's writes back up. */
  function slowReader(): RawServer {
    return rawServer((req, s) => s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${String(req.body.length).length}\r\n\r\n${req.body.length}`), {
      onOpen(s) {
        s.pause();
        setTimeout(() => s.resume(), 150);
      },
    });
  }

  test("8 MB Uint8Array body into an upstream that stops reading: queued, sent on drain, intact", async () => {
    server = slowReader();
    pool = poolFor(server.port);
    const body = pattern(8 * 1024 * 1024);
    const r = await pool.request(`POST /x HTTP/1.1\r\nhost: a\r\ncontent-length: ${body.length}\r\n\r\n`, body, { readTimeout: 5000, method: "POST" });
    expect((await readAll(r.body)).toString()).toBe(String(body.length));
    expect(server.requests[0]!.body.equals(body)).toBe(true);
    // The whole request went out, so the connection is kept.
    expect(pool.stats).toMatchObject({ open: 1, idle: 1 });
  });

  test("8 MB streamed body into an upstream that stops reading: the pump waits for drain", async () => {
    server = slowReader();
    pool = poolFor(server.port);
    const body = pattern(8 * 1024 * 1024);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < body.length; i += 1 << 20) chunks.push(body.subarray(i, i + (1 << 20)));
    const r = await pool.request(`POST /x HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n`, streamOf(chunks), { readTimeout: 5000, method: "POST" });
    expect((await readAll(r.body)).toString()).toBe(String(body.length));
    expect(server.requests[0]!.body.equals(body)).toBe(true);
    expect(pool.stats).toMatchObject({ open: 1, idle: 1 });
  });

  test("chunk encoding is exact", async () => {
    server = rawServer((_req, s) => s.write("HTTP/1.1 204 No Content\r\n\r\n"));
    pool = poolFor(server.port);
    const r = await pool.request(`PUT /x HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n`, streamOf([Buffer.from("hello"), Buffer.from("x".repeat(300))]), {
      readTimeout: 1000,
      method: "PUT",
    });
    expect(r.status).toBe(204);
    expect(server.requests[0]!.body.toString()).toBe("hello" + "x".repeat(300));
  });

  test("a request body stream that errors fails the request and drops the connection", async () => {
    server = rawServer(() => {});
    pool = poolFor(server.port);
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(Buffer.from("abc"));
        c.error(new Error("client went away mid-upload"));
      },
    });
    const err = await rejection(pool.request(`POST /x HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n`, body, { readTimeout: 1000, method: "POST" }));
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.source).toBe("client");
    await until(() => pool!.stats.open === 0 && server!.open === 0);
  });

  test("early response while the body is still uploading: delivered, connection not reused", async () => {
    server = rawServer(() => {}, {
      onOpen(s) {
        setTimeout(() => s.write("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n"), 20);
      },
    });
    pool = poolFor(server.port);
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        await Bun.sleep(10);
        c.enqueue(Buffer.from("more"));
      },
      cancel() {
        cancelled = true;
      },
    });
    const r = await pool.request(`POST /x HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n`, body, { readTimeout: 1000, method: "POST" });
    expect(r.status).toBe(413);
    await until(() => cancelled && pool!.stats.open === 0);
  });

  test("non-ASCII head: latin1 chars go out byte for byte, others as UTF-8 (no header injection)", async () => {
    server = rawServer((_req, s) => s.write("HTTP/1.1 204 No Content\r\n\r\n"));
    pool = poolFor(server.port);
    await pool.request(`GET /x HTTP/1.1\r\nhost: a\r\nx-l: caf\u00e9\r\n\r\n`, null, { readTimeout: 1000, method: "GET" });
    await pool.request(`GET /x HTTP/1.1\r\nhost: a\r\nx-u: a\u010ab\r\n\r\n`, null, { readTimeout: 1000, method: "GET" });
    expect(Buffer.from(server.requests[0]!.head, "latin1").includes(Buffer.from([0x63, 0x61, 0x66, 0xe9, 13, 10]))).toBe(true);
    expect(server.requests[1]!.head).toContain("x-u: a\xc4\x8ab\r\n");
  });
});

describe("timeouts", () => {
  test("slow upstream: read timeout fires, upstream_timeout 504, not retryable, socket destroyed", async () => {
    server = rawServer(() => {});
    pool = poolFor(server.port);
    const t0 = performance.now();
    const err = await rejection(get(pool, { readTimeout: 100 }));
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(95);
    expect(took).toBeLessThan(1000);
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.kind).toBe("upstream_timeout");
    expect(err.status).toBe(504);
    expect(err.retryable).toBe(false);
    await until(() => pool!.stats.open === 0 && server!.open === 0);
  });

  test("headers then a stall mid-body: the body stream errors, socket destroyed", async () => {
    server = rawServer((_req, s) => s.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial"));
    pool = poolFor(server.port);
    const res = await get(pool, { readTimeout: 100 });
    const reader = res.body!.getReader();
    expect(Buffer.from((await reader.read()).value!).toString()).toBe("partial");
    const err = await rejection(reader.read());
    expect(err.kind).toBe("upstream_timeout");
    await until(() => pool!.stats.open === 0 && server!.open === 0);
  });

  test("the read timeout is a gap, not a total: a slow steady body completes", async () => {
    server = rawServer(async (_req, s) => {
      s.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
      for (let i = 0; i < 6; i++) {
        await Bun.sleep(40);
        s.write("1\r\nx\r\n");
      }
      s.write("0\r\n\r\n");
    });
    pool = poolFor(server.port);
    const res = await get(pool, { readTimeout: 100 });
    expect((await readAll(res.body)).toString()).toBe("xxxxxx");
  });

  test("a slow consumer pauses the socket without tripping the read timeout", async () => {
    const big = pattern(4 * 1024 * 1024);
    server = rawServer((_req, s) => {
      let off = 0;
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${big.length}\r\n\r\n`);
      const push = () => {
        while (off < big.length) {
          const n = s.write(big.subarray(off, off + 65536));
          if (n <= 0) return;
          off += n;
        }
      };
      (s as unknown as { push: () => void }).push = push;
      push();
      const iv = setInterval(() => {
        push();
        if (off >= big.length) clearInterval(iv);
      }, 5);
    });
    pool = poolFor(server.port);
    const res = await get(pool, { readTimeout: 80 });
    const reader = res.body!.getReader();
    const parts: Uint8Array[] = [];
    let first = true;
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      parts.push(r.value);
      // Stall the consumer well past the read timeout once.
      if (first) {
        first = false;
        await Bun.sleep(250);
      }
    }
    expect(Buffer.concat(parts).equals(big)).toBe(true);
  });
});

describe("aborts", () => {
  test("client abort before the response head: rejected, socket destroyed", async () => {
    server = rawServer(() => {});
    pool = poolFor(server.port);
    const ac = new AbortController();
    const p = get(pool, { signal: ac.signal });
    await until(() => server!.requests.length === 1);
    ac.abort();
    const err = await rejection(p);
    expect(err).toBeInstanceOf(GatewayError);
    await until(() => pool!.stats.open === 0 && server!.open === 0);
  });

  test("already-aborted signal: rejected without touching the upstream", async () => {
    server = rawServer(() => {});
    pool = poolFor(server.port);
    const ac = new AbortController();
    ac.abort();
    expect(await rejection(get(pool, { signal: ac.signal }))).toBeInstanceOf(GatewayError);
    expect(server.accepted).toBe(0);
  });

  test("client abort mid-body (signal): the body errors, the upstream socket is destroyed", async () => {
    server = rawServer((_req, s) => s.write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nfirst"));
    pool = poolFor(server.port);
    const ac = new AbortController();
    const res = await get(pool, { signal: ac.signal });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    expect(await rejection(reader.read())).toBeInstanceOf(GatewayError);
    await until(() => pool!.stats.open === 0 && server!.open === 0);
  });

  test("consumer cancels the body mid-way (client disconnect in Bun.serve): upstream socket destroyed", async () => {
    server = rawServer((_req, s) => s.write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nfirst"));
    pool = poolFor(server.port);
    const res = await get(pool);
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    await until(() => pool!.stats.open === 0 && server!.open === 0);
    expect(pool.stats).toEqual({ open: 0, idle: 0, busy: 0, queued: 0 });
  });

  test("through a real proxy: a client that disconnects mid-body closes the upstream socket", async () => {
    server = rawServer((_req, s) => s.write("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nfirst"));
    pool = poolFor(server.port);
    const p = pool;
    http = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const up = await p.request(`GET / HTTP/1.1\r\nhost: a\r\n\r\n`, null, { readTimeout: 5000, method: "GET", signal: req.signal });
        return new Response(up.body, { status: up.status });
      },
    });
    let got = "";
    const client = await Bun.connect({
      hostname: "127.0.0.1",
      port: http.port!,
      socket: {
        data(_s, d) {
          got += d.toString();
        },
      },
    });
    client.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
    await until(() => got.includes("first"));
    client.terminate();
    await until(() => server!.open === 0, 3000);
    expect(pool.stats.open).toBe(0);
  });
});
