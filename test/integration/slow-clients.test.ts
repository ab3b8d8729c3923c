/**
 * Slow and idle clients (issue 16, "slowloris"): what bounds them, measured
 * against the compiled gateway with real sockets. Bun.serve (uWS) owns the
 * client socket, so the bounds are its idle timer (`server.idle_timeout`) and
 * its event loop (no thread or buffer per waiting connection); README
 * "Slow and idle clients" says what is and is not bounded (Bun 1.4.5 arms no
 * timer on a connection that never sends a byte, and restarts it on every
 * header line: those two are not bounded by the gateway).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { startGateway, type GatewayProcess } from "../helpers/gateway.ts";
import { startRecordingUpstream, type RecordingUpstream } from "../helpers/recording-upstream.ts";

let up: RecordingUpstream;
let gw: GatewayProcess;

beforeAll(async () => {
  up = startRecordingUpstream();
  gw = await startGateway(
    `
[server]
listen = "127.0.0.1:0"
workers = 1
idle_timeout = "2s"
access_log = false

[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${up.port}" }]

[[routes]]
name = "r"
path = "/*"
upstream = "u"
`,
    { binary: true },
  );
});

afterAll(async () => {
  await gw?.stop();
  up?.stop();
});

/** A raw connection that records when the gateway closed it. */
async function open(): Promise<{ socket: Socket<undefined>; closedAt: Promise<number>; received: () => string }> {
  let got = "";
  let resolveClosed!: (t: number) => void;
  const closedAt = new Promise<number>((r) => (resolveClosed = r));
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port: gw.port,
    socket: {
      data: (_s, d) => void (got += d.toString("latin1")),
      close: () => resolveClosed(performance.now()),
      end: () => resolveClosed(performance.now()),
      error: () => resolveClosed(performance.now()),
    },
  });
  return { socket, closedAt, received: () => got };
}

/** Resolves with the close time, or null when the connection is still open after `ms`. */
async function closedWithin(c: { closedAt: Promise<number> }, ms: number): Promise<number | null> {
  return Promise.race([c.closedAt, Bun.sleep(ms).then(() => null)]);
}

describe("slow and idle clients", () => {
  test("a keep-alive connection idle after its answer is closed after idle_timeout", async () => {
    const c = await open();
    c.socket.write("GET /ka HTTP/1.1\r\nhost: gw.test\r\n\r\n");
    const t0 = performance.now();
    const at = await closedWithin(c, 8000);
    expect(c.received()).toStartWith("HTTP/1.1 200");
    expect(at).not.toBeNull();
    // uWS checks timeouts on a 4 s tick: closed within idle_timeout + a tick.
    expect(at! - t0).toBeLessThan(8000);
  }, 15_000);

  test("a body trickled a byte at a time is cut off (bounded by idle_timeout, data or not); nothing reaches the upstream", async () => {
    const before = up.requests.length;
    const c = await open();
    c.socket.write("POST /slow-body HTTP/1.1\r\nhost: gw.test\r\ncontent-length: 1000\r\n\r\n");
    const t0 = performance.now();
    const drip = setInterval(() => c.socket.write("a"), 250);
    try {
      const at = await closedWithin(c, 9000);
      expect(at).not.toBeNull();
      expect(at! - t0).toBeLessThan(9000);
    } finally {
      clearInterval(drip);
    }
    // A small body is read whole before forwarding: the upstream never saw a partial request.
    expect(up.requests.slice(before).filter((r) => r.head.includes("/slow-body"))).toEqual([]);
  }, 15_000);

  test("hundreds of slow-header and slow-body connections do not keep others from being served", async () => {
    const slow: Socket<undefined>[] = [];
    try {
      for (let i = 0; i < 150; i++) {
        const h = await open();
        h.socket.write(`GET /held-${i} HTTP/1.1\r\nhost: gw.test\r\nx-a: 1\r\n`);
        slow.push(h.socket);
        const b = await open();
        b.socket.write(`POST /held-body-${i} HTTP/1.1\r\nhost: gw.test\r\ncontent-length: 5000\r\n\r\nab`);
        slow.push(b.socket);
      }
      // Each held connection is a socket in the event loop, not a thread or a worker: the others go on.
      const t0 = performance.now();
      const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => fetch(`${gw.url}/normal-${i}`)));
      const took = performance.now() - t0;
      expect(rs.map((r) => r.status)).toEqual(Array(20).fill(200));
      await Promise.all(rs.map((r) => r.text()));
      expect(took).toBeLessThan(3000);
    } finally {
      for (const s of slow) s.end();
    }
  }, 20_000);
});
