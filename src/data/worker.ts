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
import { metricsRegistry } from "../metrics/registry.ts";
import { compileSnapshot, type Snapshot } from "./snapshot.ts";
import { websocketHandler, wsRegistry } from "./websocket/registry.ts";
import { webSocketKey } from "./websocket/terminal.ts";
import type { WsData } from "./websocket/session.ts";
import { loadTls, type LoadedTls } from "./tls.ts";

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
let server: Server<WsData> | null = null;
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
  handler = createHandler(state);
  listenHost = s.host;
  tlsLoaded = s.tls ? loadTls(s, s.tls) : null;
  server = listen(config, msg.port);
  state.server = server;
  // Bun.serve counts requests in flight, not open connections: sampled each second, per worker.
  const inFlight = metricsRegistry().gauge("gateway_in_flight_requests", "Requests being served, by worker (sampled every second)", ["worker"]).labels([String(id)]);
  const sampler = setInterval(() => inFlight.set((server?.pendingRequests ?? 0) + [...retiring].reduce((n, r) => n + r.pendingRequests, 0)), 1000);
  sampler.unref?.();
  // Cache refreshes (stale-while-revalidate) replay a request through this same handler, in process.
  setRefreshHandler(async (req) => (await handler!(req, state!.server!)) ?? new Response(null, { status: 502 })); // undefined only for upgrades
  send({ type: "listening", id, port: server.port ?? msg.port });
}

/** The handler every listener of this worker serves with (it reads `state`, so it outlives listeners). */
let handler: ReturnType<typeof createHandler> | null = null;
let listenHost = "";
/** The certificates the current listener serves; a reload compares their fingerprint. */
let tlsLoaded: LoadedTls | null = null;
/** Listeners replaced by a certificate reload, still finishing the requests they had. */
const retiring = new Set<Server<WsData>>();

function listen(config: GatewayConfig, port: number): Server<WsData> {
  const s = config.server;
  return Bun.serve({
    hostname: listenHost,
    port,
    reusePort: true,
    // Bun caps idleTimeout at 255 s.
    idleTimeout: Math.min(255, Math.ceil(s.idle_timeout / 1000)),
    // Our own check answers 413 as JSON first; Bun's cap is only a backstop.
    maxRequestBodySize: s.max_body_size * 2 + 1024 * 1024,
    tls: tlsLoaded ? tlsLoaded.options : undefined,
    // ALPN h2 with HTTP/1.1 fallback; never cleartext h2 (prior knowledge), which Bun would also accept.
    http2: tlsLoaded !== null && s.http2,
    fetch: handler!,
    websocket: websocketHandler,
    error(err) {
      console.error(JSON.stringify({ level: "error", msg: "unhandled error in request", error: String(err) }));
      return new Response('{"error":"internal","message":"internal error"}', {
        status: 500,
        headers: { "content-type": "application/json" },
      });
    },
  });
}

/**
 * A reload whose certificates (file contents, hosts, TLS settings) or http2
 * switch changed opens a new listener on the same port (reusePort), then
 * stops the old one from accepting: requests in flight on it finish (Bun's
 * stop(false) closes idle keep-alive connections at once and busy ones after
 * their response; HTTP/2 sessions get GOAWAY), new connections reach the new
 * listener. Bun.serve cannot change certificates in place.
 */
function swapListenerIfNeeded(config: GatewayConfig): void {
  if (!server) return;
  const s = config.server;
  const next = s.tls ? loadTls(s, s.tls) : null;
  const old = state!.snapshot.config.server;
  if (next?.fingerprint === tlsLoaded?.fingerprint && s.http2 === old.http2) return;
  const previous = tlsLoaded;
  tlsLoaded = next;
  let fresh: Server<WsData>;
  try {
    fresh = listen(config, server.port ?? 0);
  } catch (e) {
    tlsLoaded = previous;
    throw e;
  }
  const retired = server;
  server = fresh;
  state!.server = fresh;
  retiring.add(retired);
  void retired.stop(false).finally(() => retiring.delete(retired));
}

async function reload(msg: Extract<ToWorker, { type: "reload" }>): Promise<void> {
  if (!state) return;
  const old = state.snapshot;
  let next: Snapshot | undefined;
  try {
    next = compileSnapshot(msg.config, msg.shared, clients);
    await next.ready(READY_WAIT_MS);
    // The certificates are read again on every reload (SIGHUP after a renewal); a failure keeps the old listener.
    swapListenerIfNeeded(msg.config);
  } catch (e) {
    next?.dispose();
    send({ type: "reload_failed", id, message: e instanceof Error ? e.message : String(e) });
    return;
  }
  state.snapshot = next;
  const cfg = next.config;
  const keep = new Set(cfg.routes.filter((r) => r.websocket).map((r) => webSocketKey(r, cfg.upstreams.find((u) => u.name === r.upstream))));
  wsRegistry.closeChanged(keep, "gateway reloading");
  // Requests already running hold `old`; let the longest of them finish before its resources go.
  const longest = Math.max(5_000, ...old.config.upstreams.map((u) => u.timeouts.total || u.timeouts.read));
  setTimeout(() => old.dispose(), longest + 1_000).unref?.();
  send({ type: "reloaded", id });
}

async function drain(timeout: number): Promise<void> {
  if (!server || !state) return;
  state.draining = true;
  // Relayed WebSockets get a close frame (1001 going away) on both sides, then their close handshakes run within the timeout.
  wsRegistry.closeAll("gateway shutting down");
  // Stop accepting; keep serving requests already on open connections.
  const stopped = server.stop(false);
  const deadline = Date.now() + timeout;
  let forced = false;
  const pending = () => server!.pendingRequests + server!.pendingWebSockets + [...retiring].reduce((n, r) => n + r.pendingRequests + r.pendingWebSockets, 0);
  while (pending() > 0) {
    if (Date.now() >= deadline) {
      forced = true;
      await Promise.all([server.stop(true), ...[...retiring].map((r) => r.stop(true))]);
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
