/**
 * WebSocket relay bench (issue 13): messages per second echoed by a loopback
 * upstream (a Bun.serve websocket in its own process), reached directly and
 * through the gateway (1 worker, `websocket = true` route), by the same
 * client: C connections, each keeping W messages of S bytes in flight, for
 * T seconds per round, rounds alternating direct / gateway.
 *
 *   bun bench/websocket.ts                      # 2 rounds x 3 s, 8 connections, window 16, 128 B text
 *   options: --rounds N, --seconds N, --connections N, --window N, --size BYTES, --binary
 *
 * Only 127.0.0.1 is used; every run is bounded (a few seconds).
 */
import { resolve } from "node:path";
import { startGateway } from "../test/helpers/gateway.ts";
import { option } from "./lib.ts";

const args = process.argv.slice(2);
const ROUNDS = Number(option(args, "rounds", "2"));
const SECONDS = Number(option(args, "seconds", "3"));
const CONNECTIONS = Number(option(args, "connections", "8"));
const WINDOW = Number(option(args, "window", "16"));
const SIZE = Number(option(args, "size", "128"));
const BINARY = args.includes("--binary");

const UPSTREAM = `
const s = Bun.serve({ port: 0, hostname: "127.0.0.1",
  fetch(req, srv) { if (srv.upgrade(req)) return; return new Response("ws only", { status: 426 }); },
  websocket: { message(ws, m) { ws.send(m); }, idleTimeout: 0 } });
console.log(s.port);
`;
const upstream = Bun.spawn(["bun", "--eval", UPSTREAM], { stdout: "pipe", stderr: "inherit" });
const reader = upstream.stdout.getReader();
const upPort = Number(new TextDecoder().decode((await reader.read()).value).trim());

const gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
workers = 1
access_log = false

[[upstreams]]
name = "echo"
targets = [{ url = "http://127.0.0.1:${upPort}" }]

[[routes]]
name = "ws"
path = "/*"
upstream = "echo"
websocket = { idle_timeout = "0s" }
`);

const payload: string | Uint8Array = BINARY ? new Uint8Array(SIZE).fill(7) : "x".repeat(SIZE);

/** Echoed messages per second over `seconds`, C connections with W in flight each. */
async function run(url: string, seconds: number): Promise<number> {
  const sockets: WebSocket[] = [];
  let received = 0;
  let running = true;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      const ws = new WebSocket(url);
      ws.binaryType = "arraybuffer";
      await new Promise<void>((ok, fail) => {
        ws.onopen = () => ok();
        ws.onerror = () => fail(new Error(`cannot connect to ${url}`));
      });
      ws.onmessage = () => {
        received++;
        if (running) ws.send(payload);
      };
      sockets.push(ws);
    }),
  );
  // Warm-up: half a second, not counted.
  for (const ws of sockets) for (let i = 0; i < WINDOW; i++) ws.send(payload);
  await Bun.sleep(500);
  const start = received;
  const t0 = performance.now();
  await Bun.sleep(seconds * 1000);
  const n = received - start;
  const took = (performance.now() - t0) / 1000;
  running = false;
  for (const ws of sockets) ws.close();
  await Bun.sleep(100);
  return n / took;
}

const direct: number[] = [];
const through: number[] = [];
try {
  for (let r = 0; r < ROUNDS; r++) {
    direct.push(await run(`ws://127.0.0.1:${upPort}/`, SECONDS));
    through.push(await run(`${gw.url.replace(/^http/, "ws")}/`, SECONDS));
  }
} finally {
  await gw.stop();
  upstream.kill();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => `${Math.round(n).toLocaleString("en-US")} msg/s`;
console.log(`WebSocket echo, ${CONNECTIONS} connections x ${WINDOW} in flight, ${SIZE} B ${BINARY ? "binary" : "text"}, ${ROUNDS} rounds x ${SECONDS} s (${resolve(import.meta.dir, "..")})`);
console.log(`  direct   ${fmt(median(direct))}   rounds: ${direct.map(fmt).join(", ")}`);
console.log(`  gateway  ${fmt(median(through))}   rounds: ${through.map(fmt).join(", ")}`);
console.log(`  gateway / direct: ${(median(through) / median(direct)).toFixed(2)}`);
