import { afterEach, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { startGateway, type GatewayProcess } from "../helpers/gateway.ts";
import { until } from "../helpers/wait.ts";

/**
 * Issue 9, found by trying it as a new user would: 3 targets, one refusing
 * connections, `retries = 2` and no `passive` table gave 502s once the
 * retry budget ran out, where nginx gives none. And a client that left was
 * logged as 502 upstream_unreachable and counted as the target's success.
 */

const TOKEN = "admin-token-for-tests-0123456789";

interface Live {
  readonly server: Server<undefined>;
  readonly url: string;
  /** Requests answered, and the body length of each. */
  readonly bodies: number[];
}

/** A real upstream on port 0. `/slow?ms=N` answers after N ms; anything else at once, after reading the body. */
function startLive(name: string): Live {
  const bodies: number[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      if (url.pathname === "/slow") await Bun.sleep(Number(url.searchParams.get("ms") ?? 1000));
      const body = await req.bytes();
      bodies.push(body.length);
      return Response.json({ name, length: body.length }, { headers: { "x-served-by": name } });
    },
  });
  return { server, url: `http://127.0.0.1:${server.port}`, bodies };
}

/** A port nobody listens on: bound, then closed, so connecting to it is refused. */
function refusedPort(): number {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = l.port;
  l.stop(true);
  return port;
}

interface TargetState {
  url: string;
  passive: string;
  breaker: string;
  available: boolean;
  in_flight: number;
  requests: number;
  failures: number;
}

let gw: GatewayProcess | null = null;
let lives: Live[] = [];
const listeners: { stop(force?: boolean): void }[] = [];
afterEach(async () => {
  await gw?.stop();
  gw = null;
  for (const l of lives) l.server.stop(true);
  lives = [];
  for (const l of listeners.splice(0)) l.stop(true);
});

async function start(upstreamToml: string): Promise<GatewayProcess> {
  gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
workers = 1

[admin]
listen = "127.0.0.1:0"
token = "${TOKEN}"

[[upstreams]]
name = "svc"
${upstreamToml}

[[routes]]
name = "svc"
path = "/*"
upstream = "svc"
`);
  return gw;
}

async function targetStates(g: GatewayProcess): Promise<TargetState[]> {
  const res = await fetch(`${g.adminUrl}/upstreams`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return ((await res.json()) as { targets: TargetState[] }[])[0]!.targets;
}

/** Three targets, the middle one refusing connections. */
function threeWithOneDead(extra = ""): { toml: string; dead: string } {
  lives = [startLive("a"), startLive("c")];
  const dead = `http://127.0.0.1:${refusedPort()}`;
  const toml = `retries = 2\n${extra}\ntargets = [{ url = "${lives[0]!.url}" }, { url = "${dead}" }, { url = "${lives[1]!.url}" }]`;
  return { toml, dead };
}

async function sequential(url: string, n: number, init?: () => RequestInit): Promise<number[]> {
  const statuses: number[] = [];
  for (let k = 0; k < n; k++) {
    const r = await fetch(url, init?.());
    await r.arrayBuffer();
    statuses.push(r.status);
  }
  return statuses;
}

const errorsOf = (statuses: number[]) => statuses.filter((s) => s !== 200);
const served = () => lives.reduce((n, l) => n + l.bodies.length, 0);

describe("a target that refuses connections (3 targets, retries = 2, no passive table)", () => {
  test.each([30, 300])("%d sequential GETs: no errors; the dead target is tried once and left out", async (n) => {
    const { toml, dead } = threeWithOneDead();
    const g = await start(toml);
    expect(errorsOf(await sequential(`${g.url}/get`, n))).toEqual([]);
    expect(served()).toBe(n);
    const t = (await targetStates(g)).find((s) => s.url === dead)!;
    // One refusal takes it out for fail_timeout (10 s); a run this short sees at most one probe after it.
    expect(t.requests).toBeGreaterThanOrEqual(1);
    expect(t.requests).toBeLessThanOrEqual(2);
    expect(t.failures).toBe(t.requests);
    expect([t.passive, t.available, t.breaker, t.in_flight]).toEqual(["down", false, "closed", 0]);
  });

  test("30 sequential POSTs: no errors; a connect failure sent nothing, so a POST is retried too", async () => {
    const { toml, dead } = threeWithOneDead();
    const g = await start(toml);
    expect(errorsOf(await sequential(`${g.url}/post`, 30, () => ({ method: "POST", body: "payload" })))).toEqual([]);
    // Each POST reached a live target exactly once, with its body.
    expect(lives.flatMap((l) => l.bodies)).toEqual(new Array(30).fill(7));
    const t = (await targetStates(g)).find((s) => s.url === dead)!;
    expect(t.requests).toBeLessThanOrEqual(2);
    expect(t.passive).toBe("down");
  });

  test("passive = { max_fails = 0 } keeps the dead target in rotation; retries still hide it, POSTs and streamed bodies included", async () => {
    const { toml, dead } = threeWithOneDead("passive = { max_fails = 0 }");
    const g = await start(toml);
    expect(errorsOf(await sequential(`${g.url}/get`, 300))).toEqual([]);
    let t = (await targetStates(g)).find((s) => s.url === dead)!;
    // At least its third of the first tries, each refused and retried elsewhere.
    expect(t.requests).toBeGreaterThanOrEqual(100);
    expect([t.passive, t.available]).toEqual(["ok", true]);

    const before = t.requests;
    const seen = lives.map((l) => l.bodies.length);
    const small = await sequential(`${g.url}/post`, 30, () => ({ method: "POST", body: "payload" }));
    // Over 64 KiB the body streams (not replayable), but it was never read when the connect failed.
    const big = await sequential(`${g.url}/post`, 6, () => ({ method: "POST", body: new Uint8Array(100_000) }));
    expect(errorsOf([...small, ...big])).toEqual([]);
    // Each POST reached a live target exactly once, with its whole body.
    const bodies = lives.flatMap((l, k) => l.bodies.slice(seen[k]));
    expect(bodies.sort((x, y) => x - y)).toEqual([...new Array(30).fill(7), ...new Array(6).fill(100_000)]);
    t = (await targetStates(g)).find((s) => s.url === dead)!;
    expect(t.requests - before).toBeGreaterThanOrEqual(12);
  });

  test("connect failures do not spend the retry budget: no errors even with a budget of zero", async () => {
    const { toml, dead } = threeWithOneDead("passive = { max_fails = 0 }\nretry_budget = { ratio = 0, min_per_second = 0 }");
    const g = await start(toml);
    expect(errorsOf(await sequential(`${g.url}/get`, 60))).toEqual([]);
    expect((await targetStates(g)).find((s) => s.url === dead)!.requests).toBeGreaterThanOrEqual(18);
  });
});

interface LogLine {
  request_id: string;
  status: number;
  error?: string;
  target: string | null;
}

async function logLine(g: GatewayProcess, requestId: string): Promise<LogLine> {
  let found: LogLine | undefined;
  await until(`access log line for ${requestId}`, () => {
    found = g
      .stdout()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as LogLine)
      .find((l) => l.request_id === requestId);
    return found !== undefined;
  });
  return found!;
}

/** A raw client that sends a head and part of its body, then disconnects. */
async function sendPartOfBody(port: number, requestId: string, contentLength: number, sent: number): Promise<void> {
  const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
  socket.write(`POST /upload HTTP/1.1\r\nhost: gw\r\nx-request-id: ${requestId}\r\ncontent-length: ${contentLength}\r\n\r\n${"x".repeat(sent)}`);
  await Bun.sleep(200);
  socket.end();
}

/** fetch that the client abandons after `ms`. */
async function abandoned(url: string, requestId: string, ms = 200): Promise<void> {
  const ac = new AbortController();
  const pending = fetch(url, { signal: ac.signal, headers: { "x-request-id": requestId } }).catch(() => null);
  await Bun.sleep(ms);
  ac.abort();
  expect(await pending).toBeNull();
}

describe("a client that goes away is logged 499 client_closed and costs the target nothing", () => {
  // Strict checks on one target: a single counted failure would take it out (passive) and open its breaker.
  const strict = (url: string) =>
    `retries = 2\npassive = { max_fails = 1, fail_timeout = "30s" }\ncircuit_breaker = { failures = 1, open_for = "30s" }\n` +
    `timeouts = { connect = "5s", read = "5s" }\npool = { max_connections = 1 }\ntargets = [{ url = "${url}" }]`;

  async function expectUntouched(g: GatewayProcess): Promise<void> {
    await until("in-flight back to 0", async () => (await targetStates(g))[0]!.in_flight === 0);
    const t = (await targetStates(g))[0]!;
    expect([t.failures, t.passive, t.breaker, t.available]).toEqual([0, "ok", "closed", true]);
  }

  test("waiting for the response head, waiting in the pool queue, and while sending the request body", async () => {
    lives = [startLive("slow")];
    const g = await start(strict(lives[0]!.url));

    await abandoned(`${g.url}/slow?ms=1500`, "gone-waiting-for-head");
    expect(await logLine(g, "gone-waiting-for-head")).toMatchObject({ status: 499, error: "client_closed", target: `${lives[0]!.url}` });
    await expectUntouched(g);

    // The one connection is busy: the second request waits in the pool queue when its client leaves.
    const busy = fetch(`${g.url}/slow?ms=800`, { headers: { "x-request-id": "busy" } });
    await Bun.sleep(50);
    await abandoned(`${g.url}/slow?ms=10`, "gone-while-queued");
    expect((await busy).status).toBe(200);
    expect(await logLine(g, "gone-while-queued")).toMatchObject({ status: 499, error: "client_closed" });
    await expectUntouched(g);

    // Streamed body (over 64 KiB): the upstream has the head and part of the body.
    await sendPartOfBody(g.port, "gone-mid-stream", 1_000_000, 10_000);
    expect(await logLine(g, "gone-mid-stream")).toMatchObject({ status: 499, error: "client_closed" });
    await expectUntouched(g);

    // Buffered body (up to 64 KiB): read whole before any target is picked; 499, not 400.
    await sendPartOfBody(g.port, "gone-mid-buffer", 1000, 100);
    expect(await logLine(g, "gone-mid-buffer")).toMatchObject({ status: 499, error: "client_closed", target: null });

    await expectUntouched(g);
    const after = await fetch(`${g.url}/ok`);
    expect(after.status).toBe(200);
    await after.text();
  });

  test("while connecting (a TLS handshake that never completes)", async () => {
    // Accepts TCP, never answers the ClientHello: the connect lasts until connect timeout (5 s).
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    listeners.push(silent);
    const g = await start(strict(`https://127.0.0.1:${silent.port}`));
    const t0 = performance.now();
    await abandoned(`${g.url}/x`, "gone-while-connecting", 300);
    expect(await logLine(g, "gone-while-connecting")).toMatchObject({ status: 499, error: "client_closed" });
    expect(performance.now() - t0).toBeLessThan(4000);
    await expectUntouched(g);
  });
});
