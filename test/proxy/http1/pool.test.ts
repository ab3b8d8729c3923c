import { afterEach, describe, expect, test } from "bun:test";
import { GatewayError } from "../../../src/errors.ts";
import type { UpstreamPool } from "../../../src/client/http1/pool.ts";
import { get, poolFor, rawServer, readAll, rejection, until, type RawServer } from "./raw-server.ts";

/** Keep-alive pooling: reuse, idle timeout, limits and queueing, the stale-connection retry. */
let server: RawServer | null = null;
let pool: UpstreamPool | null = null;
afterEach(() => {
  pool?.close();
  server?.stop();
  pool = null;
  server = null;
});

const OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/** Answers each request with its connection id as the body, after `delay` ms. */
function connIdServer(delay = 0): RawServer {
  return rawServer((req, s) => {
    const reply = () => {
      const body = String(req.conn);
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    };
    if (delay > 0) setTimeout(reply, delay);
    else reply();
  });
}

async function text(p: Promise<{ body: ReadableStream<Uint8Array> | null }>): Promise<string> {
  return (await readAll((await p).body)).toString();
}

describe("keep-alive reuse", () => {
  test("sequential requests share one connection; stats track it", async () => {
    server = connIdServer();
    pool = poolFor(server.port);
    for (let i = 0; i < 5; i++) expect(await text(get(pool))).toBe("0");
    expect(server.accepted).toBe(1);
    expect(pool.stats).toEqual({ open: 1, idle: 1, busy: 0, queued: 0 });
  });

  test("the socket returns only after the whole body was read from it", async () => {
    server = rawServer((_req, s) => {
      s.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab");
      setTimeout(() => s.write("cd"), 50);
    });
    pool = poolFor(server.port);
    const res = await get(pool);
    expect(pool.stats).toMatchObject({ busy: 1, idle: 0 });
    // A second request meanwhile needs a second connection.
    const second = get(pool);
    expect((await readAll(res.body)).toString()).toBe("abcd");
    await readAll((await second).body);
    expect(server.accepted).toBe(2);
    expect(pool.stats).toMatchObject({ open: 2, idle: 2, busy: 0 });
  });

  test("idle sockets are reused last-in first-out", async () => {
    server = connIdServer(30);
    pool = poolFor(server.port);
    // Two at once: connections 0 and 1. Connection 1's response is read last, so it is on top.
    const a = get(pool);
    const b = get(pool);
    const ra = await a;
    const rb = await b;
    expect(await readAll(ra.body).then(String)).toBe("0");
    expect(await readAll(rb.body).then(String)).toBe("1");
    expect(await text(get(pool))).toBe("1");
  });

  test("idle timeout closes sockets (timer)", async () => {
    server = connIdServer();
    pool = poolFor(server.port, { idleTimeout: 80 });
    await text(get(pool));
    expect(pool.stats.idle).toBe(1);
    await until(() => pool!.stats.open === 0, 1000);
    await until(() => server!.open === 0, 1000);
    expect(await text(get(pool))).toBe("1");
  });

  test("idle timeout is exact under the injected clock", async () => {
    let now = 1_000;
    server = connIdServer();
    pool = poolFor(server.port, { idleTimeout: 5_000 }, () => now);
    expect(await text(get(pool))).toBe("0");
    now += 4_999;
    expect(await text(get(pool))).toBe("0");
    now += 5_000;
    expect(await text(get(pool))).toBe("1");
    expect(server.accepted).toBe(2);
  });
});

describe("limits and queueing", () => {
  test("beyond maxConnections requests wait and are served in FIFO order", async () => {
    const order: string[] = [];
    server = rawServer((req, s) => {
      order.push(req.head.split(" ")[1]!);
      setTimeout(() => s.write(OK), 20);
    });
    pool = poolFor(server.port, { maxConnections: 2, maxQueue: 10 });
    const all = ["/1", "/2", "/3", "/4", "/5"].map((path) => get(pool!, { path }).then((r) => readAll(r.body)));
    await Bun.sleep(5);
    expect(pool.stats).toMatchObject({ open: 2, busy: 2, queued: 3 });
    await Promise.all(all);
    expect(server.accepted).toBe(2);
    expect(order).toEqual(["/1", "/2", "/3", "/4", "/5"]);
    expect(pool.stats).toEqual({ open: 2, idle: 2, busy: 0, queued: 0 });
  });

  test("queue full: upstream_unavailable 503", async () => {
    server = connIdServer(100);
    pool = poolFor(server.port, { maxConnections: 1, maxQueue: 1 });
    const a = get(pool);
    const b = get(pool);
    const err = await rejection(get(pool));
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.kind).toBe("upstream_unavailable");
    expect(err.status).toBe(503);
    expect(err.retryable).toBe(true);
    await readAll((await a).body);
    await readAll((await b).body);
  });

  test("queue timeout: upstream_unavailable 503, and the queue forgets it", async () => {
    server = connIdServer(200);
    pool = poolFor(server.port, { maxConnections: 1, queueTimeout: 50 });
    const a = get(pool);
    const t0 = performance.now();
    const err = await rejection(get(pool));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
    expect(err.kind).toBe("upstream_unavailable");
    expect(pool.stats.queued).toBe(0);
    await readAll((await a).body);
    expect(await text(get(pool))).toBe("0");
  });

  test("a queued request whose client aborts leaves the queue", async () => {
    server = connIdServer(100);
    pool = poolFor(server.port, { maxConnections: 1 });
    const a = get(pool);
    const ac = new AbortController();
    const b = get(pool, { signal: ac.signal });
    const c = get(pool);
    ac.abort();
    expect(await rejection(b)).toBeInstanceOf(GatewayError);
    expect(pool.stats.queued).toBe(1);
    await readAll((await a).body);
    expect(await text(c)).toBe("0");
  });

  test("a freed slot (connection closed) goes to the next waiter", async () => {
    server = rawServer((_req, s) => {
      setTimeout(() => {
        s.write("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
        s.end();
      }, 20);
    });
    pool = poolFor(server.port, { maxConnections: 1 });
    const bodies = await Promise.all([get(pool), get(pool), get(pool)].map((p) => p.then((r) => readAll(r.body)).then(String)));
    expect(bodies).toEqual(["ok", "ok", "ok"]);
    expect(server.accepted).toBe(3);
  });

  test("close() fails queued requests, closes idle sockets, lets busy ones finish", async () => {
    server = connIdServer(50);
    pool = poolFor(server.port, { maxConnections: 1 });
    const a = get(pool);
    const b = get(pool);
    await Bun.sleep(5);
    pool.close();
    expect((await rejection(b)).kind).toBe("upstream_unavailable");
    expect(await text(a)).toBe("0");
    await until(() => pool!.stats.open === 0);
    expect((await rejection(get(pool))).kind).toBe("upstream_unavailable");
  });
});

describe("connect failures", () => {
  test("connection refused: upstream_unreachable 502, retryable, generic message", async () => {
    const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = probe.port;
    probe.stop(true);
    pool = poolFor(port);
    const err = await rejection(get(pool));
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.kind).toBe("upstream_unreachable");
    expect(err.status).toBe(502);
    expect(err.retryable).toBe(true);
    expect(err.message).toBe("upstream connection failed");
    expect(err.message).not.toContain(String(port));
    expect(pool.stats).toEqual({ open: 0, idle: 0, busy: 0, queued: 0 });
  });

  test("connect timeout (TLS handshake that never completes): upstream_unreachable", async () => {
    // A TCP server that accepts and says nothing: the TLS connect cannot finish.
    server = rawServer(() => {});
    pool = poolFor(server.port, { tls: true, connectTimeout: 100 });
    const t0 = performance.now();
    const err = await rejection(get(pool));
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(err.kind).toBe("upstream_unreachable");
    expect(err.retryable).toBe(true);
    expect((err.cause as Error).message).toBe("connect timeout");
    await until(() => pool!.stats.open === 0);
  });
});

describe("stale keep-alive connection (upstream closed it while idle)", () => {
  /** Closes each connection `after` ms after its first response, the way servers expire keep-alive sockets. */
  function expiringServer(after: number): RawServer {
    return rawServer((req, s) => {
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${String(req.conn).length}\r\n\r\n${req.conn}`);
      if (req.index === 0) setTimeout(() => s.end(), after);
    });
  }

  test("an idle socket closed by the upstream leaves the pool at once", async () => {
    server = expiringServer(30);
    pool = poolFor(server.port);
    expect(await text(get(pool))).toBe("0");
    await until(() => pool!.stats.open === 0);
    expect(await text(get(pool))).toBe("1");
    expect(server.requests.length).toBe(2);
  });

  test("a reused socket closed before any response byte: retried once on a fresh connection, transparently", async () => {
    // Connection 0 answers its first request, then closes on the second without a byte of response.
    server = rawServer((req, s) => {
      if (req.conn === 0 && req.index === 1) s.end();
      else s.write(`HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n${req.conn}`);
    });
    pool = poolFor(server.port);
    expect(await text(get(pool))).toBe("0");
    expect(await text(get(pool))).toBe("1");
    expect(server.requests.map((r) => [r.conn, r.index])).toEqual([
      [0, 0],
      [0, 1],
      [1, 0],
    ]);
    // A Uint8Array body is replayed byte for byte.
    const body = Buffer.from("payload");
    server.stop();
    server = rawServer((req, s) => {
      if (req.conn === 0 && req.index === 1) s.end();
      else s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${req.body.length}\r\n\r\n${req.body}`);
    });
    pool.close();
    pool = poolFor(server.port);
    const post = () =>
      pool!.request(`POST /x HTTP/1.1\r\nhost: u\r\ncontent-length: ${body.length}\r\n\r\n`, body, { readTimeout: 1000, method: "POST" });
    expect(await text(post())).toBe("payload");
    expect(await text(post())).toBe("payload");
    expect(server.requests.length).toBe(3);
  });

  test("race: the upstream closes the idle socket just as the request is written", async () => {
    // The upstream closes idle sockets after 40 ms; requests are sent at ~40 ms intervals, so some
    // land on a socket whose close is in flight. Every request must still succeed.
    server = rawServer((req, s) => {
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok`);
      const st = s as unknown as { timer?: Timer };
      if (st.timer) clearTimeout(st.timer);
      st.timer = setTimeout(() => s.terminate(), 40);
      void req;
    });
    pool = poolFor(server.port);
    for (let i = 0; i < 15; i++) {
      expect(await text(get(pool))).toBe("ok");
      await Bun.sleep(40);
    }
  });

  test("a reused socket that dies before any response byte: retried once, then the error surfaces", async () => {
    // Every request after the first on any connection gets the connection cut without an answer.
    server = rawServer((req, s) => {
      if (req.index === 0 && req.conn === 0) s.write(OK);
      else s.terminate();
    });
    pool = poolFor(server.port);
    expect(await text(get(pool))).toBe("ok");
    const err = await rejection(get(pool));
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.status).toBe(502);
    // First attempt on the reused socket, one retry on a fresh one; no more.
    expect(server.requests.length).toBe(3);
  });

  test("no retry for a streamed request body", async () => {
    server = rawServer((req, s) => {
      if (req.index === 0) s.write(OK);
      else s.terminate();
    });
    pool = poolFor(server.port);
    expect(await text(get(pool))).toBe("ok");
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode("abc"));
        c.close();
      },
    });
    const err = await rejection(
      pool.request("POST /x HTTP/1.1\r\nhost: u\r\ntransfer-encoding: chunked\r\n\r\n", body, { readTimeout: 1000, method: "POST" }),
    );
    expect(err.status).toBe(502);
    expect(server.accepted).toBe(1);
  });
});
