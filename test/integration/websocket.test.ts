import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect as netConnect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rawRequest, startGateway, type GatewayProcess } from "../helpers/gateway.ts";
import { freePort } from "../helpers/ports.ts";
import { parsePrometheus, valueOf } from "../helpers/prometheus.ts";
import { until } from "../helpers/wait.ts";
import { FLOOD_TOTAL, startWsUpstream, wsClient, type WsUpstream } from "../helpers/websocket.ts";

let up: WsUpstream & { flooded: () => number };
let gw: GatewayProcess;
let wsBase: string;
let deadPort: number;
const KEY = "key-ws-0123456789abcdef";

function config(upPort: number): string {
  return `
[server]
listen = "127.0.0.1:0"
workers = 1
access_log = false

[metrics]
listen = "127.0.0.1:0"

[[upstreams]]
name = "ws"
targets = [{ url = "http://127.0.0.1:${upPort}" }]

[[upstreams]]
name = "dead"
targets = [{ url = "http://127.0.0.1:${deadPort}" }]
timeouts = { connect = "1s", read = "2s" }

[[consumers]]
name = "app"
api_keys = ["${KEY}"]

[[routes]]
name = "live"
path = "/ws/*"
upstream = "ws"
strip_prefix = "/ws"
websocket = true

[[routes]]
name = "secure"
path = "/secure/*"
upstream = "ws"
strip_prefix = "/secure"
auth = "api_key"
websocket = true

[[routes]]
name = "limited"
path = "/limited/*"
upstream = "ws"
strip_prefix = "/limited"
rate_limits = [{ algorithm = "fixed_window", limit = 2, window = "1m", key = "ip" }]
websocket = true

[[routes]]
name = "single"
path = "/single/*"
upstream = "ws"
strip_prefix = "/single"
rate_limits = [{ algorithm = "concurrency", limit = 1, key = "global" }]
websocket = true

[[routes]]
name = "small"
path = "/small/*"
upstream = "ws"
strip_prefix = "/small"
websocket = { max_message_size = "1KB", idle_timeout = "1s" }

[[routes]]
name = "slow"
path = "/slow/*"
upstream = "ws"
strip_prefix = "/slow"
websocket = { max_buffer = "64KB", drain_timeout = "1s", idle_timeout = "0s" }

[[routes]]
name = "down"
path = "/down/*"
upstream = "dead"
websocket = true

[[routes]]
name = "plain"
path = "/plain/*"
upstream = "ws"
strip_prefix = "/plain"
`;
}

beforeAll(async () => {
  up = startWsUpstream();
  deadPort = await freePort();
  gw = await startGateway(config(up.port));
  wsBase = gw.url.replace(/^http/, "ws");
});
afterAll(async () => {
  await gw.stop();
  up.stop();
});

const HANDSHAKE = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

/** A raw handshake: the status and head of the answer, as soon as the head is in (a 101 keeps the connection open). */
async function rawHandshake(path: string, extra = ""): Promise<{ status: number; head: string }> {
  const head = await new Promise<string>((resolve) => {
    let buf = "";
    const done = () => resolve(buf.split("\r\n\r\n")[0] ?? "");
    const sock = netConnect(gw.port, "127.0.0.1", () => sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${HANDSHAKE}${extra}\r\n`));
    sock.on("data", (d) => {
      buf += d.toString("latin1");
      if (buf.includes("\r\n\r\n")) {
        done();
        sock.destroy();
      }
    });
    sock.on("close", done);
    sock.on("error", done);
    setTimeout(() => {
      done();
      sock.destroy();
    }, 3000);
  });
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head };
}

describe("relay", () => {
  test("text messages echo through the gateway", async () => {
    const c = wsClient(`${wsBase}/ws/echo`);
    await c.opened;
    c.ws.send("hello");
    expect(await c.next()).toBe("hello");
    c.ws.send("é—ü 🚀");
    expect(await c.next()).toBe("é—ü 🚀");
    c.ws.close(1000, "done");
    expect(await c.closed).toEqual({ code: 1000, reason: "done" });
  });

  test("a 1 MB binary message arrives whole, as binary, byte for byte", async () => {
    const c = wsClient(`${wsBase}/ws/echo`);
    await c.opened;
    const big = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 255;
    c.ws.send(big);
    const back = await c.next(5000);
    expect(typeof back).not.toBe("string");
    expect(Buffer.compare(back as Buffer, big)).toBe(0);
    c.ws.close();
    await c.closed;
  });

  test("the upstream handshake carries the forwarding fields, the route's path edit and the client's own fields", async () => {
    const c = wsClient(`${wsBase}/ws/headers?x=1`, { headers: { "x-custom": "kept", "x-forwarded-for": "6.6.6.6" } });
    await c.opened;
    const seen = JSON.parse(String(await c.next())) as Record<string, string>;
    expect(seen["x-custom"]).toBe("kept");
    // Not from a trusted proxy: the client's X-Forwarded-For is replaced, as the proxy does.
    expect(seen["x-forwarded-for"]).toBe("127.0.0.1");
    expect(seen["x-forwarded-proto"]).toBe("http");
    expect(seen["x-forwarded-host"]).toBe(`127.0.0.1:${gw.port}`);
    expect(seen["x-real-ip"]).toBe("127.0.0.1");
    expect(seen.via).toBe("1.1 gateway");
    expect(seen["x-request-id"]).toMatch(/.+/);
    expect(seen.host).toBe(`127.0.0.1:${up.port}`);
    expect(up.handshakes.at(-1)![":path"]).toBe("/headers?x=1");
    c.ws.close();
    await c.closed;
  });

  test("pings from the client reach the upstream; the client gets its pong", async () => {
    const c = wsClient(`${wsBase}/ws/echo`);
    await c.opened;
    const before = up.pings.length;
    c.ws.ping("are-you-there");
    await until("condition", () => up.pings.length > before, 2000);
    expect(String(up.pings.at(-1))).toBe("are-you-there");
    await until("condition", () => c.pongs.length > 0, 2000);
    expect(String(c.pongs[0])).toBe("are-you-there");
    c.ws.close();
    await c.closed;
  });
});

describe("close codes", () => {
  test("the client's close code and reason reach the upstream", async () => {
    const c = wsClient(`${wsBase}/ws/echo`);
    await c.opened;
    c.ws.close(4000, "client-bye");
    await c.closed;
    await until("condition", () => up.closes.some((x) => x.code === 4000), 2000);
    expect(up.closes.find((x) => x.code === 4000)).toEqual({ code: 4000, reason: "client-bye" });
  });

  test("the upstream's close code and reason reach the client", async () => {
    const c = wsClient(`${wsBase}/ws/echo`);
    await c.opened;
    c.ws.send("close:4001:server-bye");
    expect(await c.closed).toEqual({ code: 4001, reason: "server-bye" });
    c.ws.close();
  });

  test("an upstream that speaks and closes at once, before the client's socket is open: both reach the client", async () => {
    const c = wsClient(`${wsBase}/ws/bye`);
    expect(await c.next()).toBe("last words");
    expect(await c.closed).toEqual({ code: 4002, reason: "gone" });
  });

  test("an upstream that dies mid-connection: the client gets 1014 (bad gateway)", async () => {
    const c = wsClient(`${wsBase}/ws/echo`);
    await c.opened;
    c.ws.send("ping-before");
    expect(await c.next()).toBe("ping-before");
    c.ws.send("die");
    const closed = await c.closed;
    expect(closed.code).toBe(1014);
    expect(closed.reason).toBe("upstream connection lost");
  });
});

describe("a client that vanishes", () => {
  test("no close frame from the client (1006): the upstream gets 1001", async () => {
    const before = up.closes.length;
    const sock: Socket = netConnect(gw.port, "127.0.0.1");
    await new Promise<void>((resolve) => sock.once("connect", () => resolve()));
    sock.write(`GET /ws/echo HTTP/1.1\r\nHost: 127.0.0.1\r\n${HANDSHAKE}\r\n`);
    await new Promise<void>((resolve) => sock.once("data", () => resolve()));
    sock.destroy();
    await until("the upstream's close", () => up.closes.length > before, 3000);
    expect(up.closes.at(-1)).toEqual({ code: 1001, reason: "client went away" });
  });
});

describe("subprotocols (Sec-WebSocket-Protocol)", () => {
  test("the client's offer goes upstream; the upstream's choice comes back", async () => {
    const c = wsClient(`${wsBase}/ws/echo`, { protocols: ["chat.v1", "chat.v2"] });
    await c.opened;
    expect(c.ws.protocol).toBe("chat.v2");
    expect(up.handshakes.at(-1)!["sec-websocket-protocol"]).toBe("chat.v1, chat.v2");
    c.ws.close();
    await c.closed;
  });

  test("no subprotocol offered: none asked upstream, the 101 names none", async () => {
    const { status, head } = await rawHandshake("/ws/echo");
    expect(status).toBe(101);
    expect(head.toLowerCase()).not.toContain("sec-websocket-protocol");
    expect(up.handshakes.at(-1)!["sec-websocket-protocol"]).toBeUndefined();
  });

  test("an upstream that picks none of the offered subprotocols: 502 (Bun's client, like browsers, fails that handshake)", async () => {
    const res = await rawRequest(gw.port, `GET /ws/noproto HTTP/1.1\r\nHost: a\r\nConnection: close\r\n${HANDSHAKE}Sec-WebSocket-Protocol: chat.v1\r\n\r\n`, 2000);
    expect(res).toStartWith("HTTP/1.1 502");
    expect(res).toContain("upstream chose none of the offered subprotocols");
    expect(up.handshakes.at(-1)!["sec-websocket-protocol"]).toBe("chat.v1");
  });

  test("the 101 carries the upstream's pick and the request id", async () => {
    const { status, head } = await rawHandshake("/ws/echo", "Sec-WebSocket-Protocol: chat.v1\r\nX-Request-ID: ws-rid-1\r\n");
    expect(status).toBe(101);
    expect(head.toLowerCase()).toContain("sec-websocket-protocol: chat.v1");
    expect(head.toLowerCase()).toContain("x-request-id: ws-rid-1");
  });
});

describe("the handshake passes the route's policies first", () => {
  test("auth refused: 401 before any upgrade, the upstream never asked", async () => {
    const before = up.handshakes.length;
    const { status } = await rawHandshake("/secure/echo");
    expect(status).toBe(401);
    expect(up.handshakes.length).toBe(before);
    const c = wsClient(`${wsBase}/secure/echo`, { headers: { "x-api-key": KEY } });
    await c.opened;
    c.ws.send("authed");
    expect(await c.next()).toBe("authed");
    c.ws.close();
    await c.closed;
  });

  test("rate limit: the third handshake in the window gets 429, with RateLimit fields on the 101s", async () => {
    const first = await rawHandshake("/limited/echo");
    const second = await rawHandshake("/limited/echo");
    const third = await rawHandshake("/limited/echo");
    expect([first.status, second.status, third.status]).toEqual([101, 101, 429]);
    expect(first.head.toLowerCase()).toMatch(/ratelimit/);
    expect(third.head.toLowerCase()).toContain("retry-after");
  });
});

describe("concurrency", () => {
  test("a concurrency limit holds its slot for the session: a second WebSocket gets 429 until the first closes", async () => {
    const a = wsClient(`${wsBase}/single/echo`);
    await a.opened;
    expect((await rawHandshake("/single/echo")).status).toBe(429);
    a.ws.close();
    await a.closed;
    await until("the slot is released", async () => (await rawHandshake("/single/echo")).status === 101, 3000);
  });
});

describe("failures at the handshake", () => {
  test("upstream down: 502 fast, not a hang", async () => {
    const t0 = performance.now();
    const { status } = await rawHandshake("/down/x");
    expect(status).toBe(502);
    expect(performance.now() - t0).toBeLessThan(2500);
  });

  test("upstream refuses the handshake (403): the client gets 403", async () => {
    expect((await rawHandshake("/ws/reject")).status).toBe(403);
  });

  test("a plain request to a websocket route: 426 with Upgrade: websocket", async () => {
    const res = await fetch(`${gw.url}/ws/echo`);
    expect(res.status).toBe(426);
    expect(res.headers.get("upgrade")).toBe("websocket");
  });

  test("another WebSocket version: 426 naming version 13; a bad key: 400", async () => {
    const v = await rawRequest(gw.port, "GET /ws/echo HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n", 2000);
    expect(v).toStartWith("HTTP/1.1 426");
    expect(v.toLowerCase()).toContain("sec-websocket-version: 13");
    const k = await rawRequest(gw.port, "GET /ws/echo HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n", 2000);
    expect(k).toStartWith("HTTP/1.1 400");
  });

  test("a route without websocket refuses the upgrade: the request goes upstream as a plain one", async () => {
    const { status } = await rawHandshake("/plain/echo");
    expect(status).toBe(400);
    const seen = up.handshakes.at(-1)!;
    expect(seen[":path"]).toBe("/echo");
    expect(seen.upgrade).toBeUndefined();
    expect(seen["sec-websocket-key"]).toBe("dGhlIHNhbXBsZSBub25jZQ==");
  });
});

describe("limits", () => {
  test("a message over max_message_size closes both sides with 1009", async () => {
    const c = wsClient(`${wsBase}/small/echo`);
    await c.opened;
    c.ws.send("x".repeat(512));
    expect(await c.next()).toBe("x".repeat(512));
    c.ws.send("y".repeat(2048));
    expect((await c.closed).code).toBe(1009);
    await until("condition", () => up.closes.some((x) => x.code === 1009), 2000);
  });

  test("idle_timeout: no traffic for 1s closes with 1001", async () => {
    const c = wsClient(`${wsBase}/small/echo`);
    await c.opened;
    const t0 = performance.now();
    const closed = await c.closed;
    expect(closed).toEqual({ code: 1001, reason: "idle timeout" });
    expect(performance.now() - t0).toBeGreaterThan(900);
    expect(performance.now() - t0).toBeLessThan(2500);
  });

  test("slow consumer: the upstream is paused (bounded memory), then both are closed as documented", async () => {
    const rss = () => {
      const status = require("node:fs").readFileSync(`/proc/${gw.proc.pid}/status`, "utf8") as string;
      return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) * 1024;
    };
    const before = rss();
    const closesBefore = up.closes.length;
    // A client that completes the handshake, then never reads again.
    const sock: Socket = netConnect(gw.port, "127.0.0.1");
    await new Promise<void>((resolve) => sock.once("connect", () => resolve()));
    sock.write(`GET /slow/flood HTTP/1.1\r\nHost: 127.0.0.1\r\n${HANDSHAKE}\r\n`);
    await new Promise<void>((resolve) => sock.once("data", () => resolve()));
    sock.pause();
    // The upstream floods; the gateway stops reading it once 64 KB are queued for the client.
    await Bun.sleep(600);
    const pushed = up.flooded();
    expect(pushed).toBeGreaterThan(0);
    // Measured: ~15 MB (the kernel's socket buffers on both legs and the upstream's own queue) of the 256 MB it tried; the gateway's RSS grew ~3 MB.
    expect(pushed).toBeLessThan(FLOOD_TOTAL / 8);
    expect(rss() - before).toBeLessThan(32 * 1024 * 1024);
    // drain_timeout = 1s: the client is too slow: the upstream gets 1001, the client 1008 (queued behind its data).
    await until("condition", () => up.closes.length > closesBefore, 4000);
    expect(up.closes.at(-1)).toEqual({ code: 1001, reason: "client too slow" });
    sock.destroy();
  });
});

describe("backpressure towards the upstream", () => {
  test("an upstream that stops reading: the client is paused, then gets 1013 (the upstream a 1008 it never reads, then its connection cut)", async () => {
    const c = wsClient(`${wsBase}/slow/sink`);
    await c.opened;
    const chunk = Buffer.alloc(64 * 1024, 1);
    // Far more than the socket buffers hold; the client's own queue grows once the gateway stops reading it.
    for (let i = 0; i < 1024 && c.ws.readyState === WebSocket.OPEN; i++) c.ws.send(chunk);
    const closed = await c.closed;
    expect(closed).toEqual({ code: 1013, reason: "upstream too slow" });
    // The client's queue was held on its side: the gateway read only what it could pass on.
    expect(c.ws.bufferedAmount).toBeGreaterThan(1024 * 1024);
    const open = async () => valueOf(parsePrometheus(await (await fetch(gw.metricsUrl!)).text()), "gateway_websocket_connections", { route: "slow" });
    await until("the slow route's sessions are gone", async () => (await open()) === 0, 4000);
  });
});

describe("upstream pings", () => {
  test("a ping from the upstream reaches the client", async () => {
    const c = wsClient(`${wsBase}/ws/echo`);
    await c.opened;
    c.ws.send("ping-me");
    await until("the client's ping", () => c.pings.length > 0, 2000);
    expect(String(c.pings[0])).toBe("from-upstream");
    c.ws.close();
    await c.closed;
  });
});

describe("metrics", () => {
  test("gateway_websocket_connections counts open connections per route", async () => {
    const scrape = async () => valueOf(parsePrometheus(await (await fetch(gw.metricsUrl!)).text()), "gateway_websocket_connections", { route: "live" });
    await until("condition", async () => (await scrape()) === 0, 3000);
    const a = wsClient(`${wsBase}/ws/echo`);
    const b = wsClient(`${wsBase}/ws/echo`);
    await Promise.all([a.opened, b.opened]);
    expect(await scrape()).toBe(2);
    a.ws.close();
    await a.closed;
    await until("condition", async () => (await scrape()) === 1, 3000);
    b.ws.close();
    await b.closed;
    await until("condition", async () => (await scrape()) === 0, 3000);
    // The handshakes themselves are requests answered 101.
    const fams = parsePrometheus(await (await fetch(gw.metricsUrl!)).text());
    expect(valueOf(fams, "gateway_requests_total", { route: "live", code: "101" })).toBeGreaterThanOrEqual(2);
  });
});

describe("targets", () => {
  test("a dead target is skipped: the handshake's connect failure is retried on the next target", async () => {
    const dead = await freePort();
    const own = await startGateway(`
[server]
listen = "127.0.0.1:0"
access_log = false

[[upstreams]]
name = "pair"
targets = [{ url = "http://127.0.0.1:${dead}" }, { url = "http://127.0.0.1:${up.port}" }]
retries = 1

[[routes]]
name = "pair"
path = "/*"
upstream = "pair"
websocket = true
`);
    try {
      for (let i = 0; i < 4; i++) {
        const c = wsClient(`${own.url.replace(/^http/, "ws")}/echo`);
        await c.opened;
        c.ws.send(`n${i}`);
        expect(await c.next()).toBe(`n${i}`);
        c.ws.close();
        await c.closed;
      }
    } finally {
      await own.stop();
    }
  });
});

describe("https targets", () => {
  test("an https target is reached over wss, its certificate checked (here against NODE_EXTRA_CA_CERTS)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ws-tls-"));
    const r = Bun.spawnSync([
      "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
      "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
    ]);
    expect(r.exitCode).toBe(0);
    const secure = startWsUpstream({ tls: { cert: readFileSync(join(dir, "cert.pem"), "utf8"), key: readFileSync(join(dir, "key.pem"), "utf8") } });
    const toml = `
[server]
listen = "127.0.0.1:0"
access_log = false

[[upstreams]]
name = "tls"
targets = [{ url = "https://127.0.0.1:${secure.port}" }]

[[routes]]
name = "tls"
path = "/*"
upstream = "tls"
websocket = true
`;
    const trusted = await startGateway(toml, { env: { NODE_EXTRA_CA_CERTS: join(dir, "cert.pem") } });
    const untrusted = await startGateway(toml);
    try {
      const c = wsClient(`${trusted.url.replace(/^http/, "ws")}/echo`);
      await c.opened;
      c.ws.send("over tls");
      expect(await c.next()).toBe("over tls");
      c.ws.close();
      await c.closed;
      // Without the CA the certificate is refused: a bad gateway, not an unchecked connection.
      const res = await fetch(`${untrusted.url}/echo`, { headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" } });
      expect(res.status).toBe(502);
    } finally {
      await trusted.stop();
      await untrusted.stop();
      secure.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("reload", () => {
  test("SIGHUP: a session whose route is unchanged runs on; one whose route changed is closed with 1001", async () => {
    const own = await startGateway(config(up.port));
    try {
      const base = own.url.replace(/^http/, "ws");
      const kept = wsClient(`${base}/ws/echo`);
      const changed = wsClient(`${base}/small/echo`);
      await Promise.all([kept.opened, changed.opened]);
      own.writeConfig(config(up.port).replace('websocket = { max_message_size = "1KB", idle_timeout = "1s" }', 'websocket = { max_message_size = "2KB", idle_timeout = "1s" }'));
      own.signal("SIGHUP");
      expect(await changed.closed).toEqual({ code: 1001, reason: "gateway reloading" });
      kept.ws.send("after reload");
      expect(await kept.next()).toBe("after reload");
      kept.ws.close();
      await kept.closed;
    } finally {
      await own.stop();
    }
  });
});

describe("drain", () => {
  test("SIGTERM closes open WebSockets with 1001 on both sides, then the gateway exits", async () => {
    const own = await startGateway(config(up.port));
    const c = wsClient(`${own.url.replace(/^http/, "ws")}/ws/echo`);
    await c.opened;
    c.ws.send("still here");
    expect(await c.next()).toBe("still here");
    const closesBefore = up.closes.length;
    own.signal("SIGTERM");
    expect(await c.closed).toEqual({ code: 1001, reason: "gateway shutting down" });
    await until("condition", () => up.closes.length > closesBefore, 3000);
    expect(up.closes.at(-1)).toEqual({ code: 1001, reason: "gateway shutting down" });
    expect(await own.exited).toBe(0);
  });
});
