/**
 * Data-plane worker thread: one Bun.serve with reusePort, serving from the
 * current snapshot. Talks to the control plane only by messages, never on the
 * request path. See control.ts for the other side of the protocol.
 */
import type { Server } from "bun";
import type { GatewayConfig } from "../config/types.ts";
import { setRefreshHandler } from "../policies/cache/refresh.ts";
import { AccessLog } from "./access-log.ts";
import { ClientRegistry } from "./clients.ts";
import { createHandler, type ServeState } from "./handler.ts";
import type { SharedBuffers } from "./shared.ts";
import { compileSnapshot, type Snapshot } from "./snapshot.ts";

declare const self: Worker;

export type ToWorker =
  | { type: "start"; id: number; config: GatewayConfig; shared: SharedBuffers; port: number }
  | { type: "reload"; config: GatewayConfig; shared: SharedBuffers }
  | { type: "drain"; timeout: number };

export type FromWorker =
  | { type: "listening"; id: number; port: number }
  | { type: "fatal"; id: number; message: string }
  | { type: "reloaded"; id: number }
  | { type: "reload_failed"; id: number; message: string }
  | { type: "drained"; id: number; forced: boolean };

let id = -1;
let server: Server<undefined> | null = null;
let state: ServeState | null = null;
const clients = new ClientRegistry();

function send(msg: FromWorker): void {
  self.postMessage(msg);
}

/**
 * How long a worker waits, before it listens or swaps in a reloaded snapshot,
 * for strict-mode Redis and JWKS keys. Past it, it serves anyway: Redis
 * decisions fall back to on_error and JWKS-keyed tokens wait for their keys.
 */
const READY_WAIT_MS = 3_000;

async function start(msg: Extract<ToWorker, { type: "start" }>): Promise<void> {
  id = msg.id;
  const config = msg.config;
  const snapshot = compileSnapshot(config, msg.shared, clients);
  await snapshot.ready(READY_WAIT_MS);
  const s = config.server;
  state = {
    snapshot,
    draining: false,
    log: s.access_log ? new AccessLog() : null,
  };
  const handler = createHandler(state);
  server = Bun.serve({
    hostname: s.host,
    port: msg.port,
    reusePort: true,
    // Bun caps idleTimeout at 255 s.
    idleTimeout: Math.min(255, Math.ceil(s.idle_timeout / 1000)),
    // Our own check answers 413 as JSON first; Bun's cap is only a backstop.
    maxRequestBodySize: s.max_body_size * 2 + 1024 * 1024,
    tls: s.tls ? { cert: Bun.file(s.tls.cert), key: Bun.file(s.tls.key) } : undefined,
    fetch: handler,
    error(err) {
      console.error(JSON.stringify({ level: "error", msg: "unhandled error in request", error: String(err) }));
      return new Response('{"error":"internal","message":"internal error"}', {
        status: 500,
        headers: { "content-type": "application/json" },
      });
    },
  });
  // Cache refreshes (stale-while-revalidate) replay a request through this same handler, in process.
  const srv = server;
  setRefreshHandler((req) => handler(req, srv));
  send({ type: "listening", id, port: server.port ?? msg.port });
}

async function reload(msg: Extract<ToWorker, { type: "reload" }>): Promise<void> {
  if (!state) return;
  const old = state.snapshot;
  let next: Snapshot;
  try {
    next = compileSnapshot(msg.config, msg.shared, clients);
    await next.ready(READY_WAIT_MS);
  } catch (e) {
    send({ type: "reload_failed", id, message: e instanceof Error ? e.message : String(e) });
    return;
  }
  state.snapshot = next;
  // Requests already running hold `old`; let the longest of them finish before its resources go.
  const longest = Math.max(5_000, ...old.config.upstreams.map((u) => u.timeouts.total || u.timeouts.read));
  setTimeout(() => old.dispose(), longest + 1_000).unref?.();
  send({ type: "reloaded", id });
}

async function drain(timeout: number): Promise<void> {
  if (!server || !state) return;
  state.draining = true;
  // Stop accepting; keep serving requests already on open connections.
  const stopped = server.stop(false);
  const deadline = Date.now() + timeout;
  let forced = false;
  while (server.pendingRequests > 0) {
    if (Date.now() >= deadline) {
      forced = true;
      await server.stop(true);
      break;
    }
    await Bun.sleep(10);
  }
  await Promise.race([stopped, Bun.sleep(50)]);
  state.log?.flush();
  state.snapshot.dispose();
  clients.closeAll();
  send({ type: "drained", id, forced });
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const msg = event.data;
  const fatal = (e: unknown) => send({ type: "fatal", id, message: e instanceof Error ? e.message : String(e) });
  if (msg.type === "start") start(msg).catch(fatal);
  else if (msg.type === "reload") reload(msg).catch(fatal);
  else if (msg.type === "drain") drain(msg.timeout).catch(fatal);
};
