import type { RouteConfig, UpstreamConfig } from "../../config/types.ts";
import type { WebSocketConfig } from "../../config/normalize-websocket.ts";
import { clientClosed, GatewayError } from "../../errors.ts";
import { metricsRegistry, type BoundGauge } from "../../metrics/registry.ts";
import type { RequestContext } from "../../policies/context.ts";
import { retryAfterSeconds } from "../../upstream/index.ts";
import type { Terminal, UpstreamHook } from "../route.ts";
import { Draft } from "../proxy/draft.ts";
import type { UpstreamBinding } from "../proxy/forward.ts";
import { appendVia, connectionTokens } from "../proxy/headers.ts";
import type { ProxyEnv } from "../proxy/terminal.ts";
import { checkHandshake } from "./handshake.ts";
import { wsRegistry } from "./registry.ts";
import { CLOSE, WsSession } from "./session.ts";

/** Handshake fields the gateway's own client socket writes towards the upstream (RFC 6455 §4.1). */
const HANDSHAKE_FIELDS: ReadonlySet<string> = new Set([
  "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "sec-websocket-protocol", "sec-websocket-accept",
]);

/** A relayed WebSocket whose upstream side is open, waiting for the handler to upgrade the client (server.upgrade). */
export interface PendingUpgrade {
  readonly session: WsSession;
  /** Fields of the 101 answer: the upstream's subprotocol choice, the request id, the policies' (RateLimit). */
  readonly headers: Record<string, string>;
}

/**
 * The `websocket = true` terminal. Once the route's request hooks let the
 * handshake through (auth, rate limits: they run before any terminal), it
 * checks the handshake, opens a WebSocket to a target of the route's
 * upstream through the same balancer, health and breaker as the proxy
 * (connect failures retried on another target, like forward.ts), with the
 * client's fields forwarded as the proxy forwards them (X-Forwarded-*, Via,
 * request id, identity headers, the route's request edits) and the client's
 * offered subprotocols; the upstream's choice goes into the client's 101.
 * The handler then upgrades the client (src/data/handler.ts) and the session
 * relays (session.ts).
 */
export class WebSocketTerminal implements Terminal {
  readonly kind = "upgrade";
  private readonly cfg: WebSocketConfig;
  private readonly gauge: BoundGauge;
  /** Sessions started here survive a reload that leaves this key alone (webSocketKey). */
  private readonly key: string;

  constructor(
    private readonly env: ProxyEnv,
    private readonly binding: UpstreamBinding,
    private readonly route: RouteConfig,
    private readonly hooks: readonly UpstreamHook[],
  ) {
    this.cfg = route.websocket!;
    this.key = webSocketKey(route, binding.config);
    this.gauge = metricsRegistry()
      .gauge("gateway_websocket_connections", "Open WebSocket connections relayed, per route", ["route"])
      .labels([route.name]);
  }

  /** Without a server to upgrade on (in-process handler tests) there is no WebSocket to give. */
  run(_ctx: RequestContext): Promise<Response> {
    return Promise.reject(new GatewayError("internal", 500, "WebSocket upgrade needs the worker's server"));
  }

  async connect(ctx: RequestContext): Promise<PendingUpgrade> {
    const env = this.env;
    const req = ctx.req;
    const headers = req.headers;
    const protocols = checkHandshake(ctx.method, headers);
    const all = headers.toJSON() as Record<string, string | string[] | undefined>;
    let path = ctx.path;
    let query = ctx.query;
    if (this.hooks.length > 0) {
      const draft = new Draft(path, query, all, null);
      for (const hook of this.hooks) {
        const r = hook(ctx, draft);
        if (r instanceof Promise) await r;
      }
      path = draft.path;
      query = draft.query;
    }
    const connection = connectionTokens(headers.get("connection"));
    const out: Record<string, string> = {};
    let size = 0;
    for (const name in all) {
      const value = all[name];
      if (value === undefined) continue;
      const text = typeof value === "string" ? value : value.join(", ");
      size += name.length + text.length + 4;
      if (env.skip.has(name) || HANDSHAKE_FIELDS.has(name) || (connection !== null && connection.has(name))) continue;
      out[name] = text;
    }
    if (size > env.server.max_header_size) throw new GatewayError("headers_too_large", 431, "request headers too large");
    // The proxy's forwarding fields (proxy/terminal.ts): X-Forwarded-* believed only from a trusted proxy.
    const trusted = env.trustedProxies.has(ctx.peerIp);
    const xff = trusted ? headers.get("x-forwarded-for") : null;
    out["x-forwarded-for"] = xff ? `${xff}, ${ctx.peerIp}` : ctx.peerIp;
    out["x-forwarded-proto"] = (trusted && headers.get("x-forwarded-proto")) || (env.scheme === "https" ? "https" : "http");
    if (ctx.hostPort !== "") out["x-forwarded-host"] = (trusted && headers.get("x-forwarded-host")) || ctx.hostPort;
    out["x-real-ip"] = ctx.clientIp;
    out[env.server.request_id_header] = ctx.requestId;
    out.via = appendVia(all.via as string | undefined);
    if (ctx.upstreamHeaders !== null) for (const [k, v] of ctx.upstreamHeaders) out[k] = v;
    const target = `${path.charCodeAt(0) === 47 ? path : `/${path}`}${query}`;

    const { socket, early } = await this.open(ctx, out, protocols, target);
    const session = new WsSession(socket, early, this.cfg, this.gauge, this.key, wsRegistry);
    const answer: Record<string, string> = {};
    if (ctx.responseHeaders !== null) for (const [k, v] of ctx.responseHeaders) answer[k] = v;
    ctx.responseHeaders = null;
    answer[env.server.request_id_header] = ctx.requestId;
    // The upstream chose one of the client's offers (RFC 6455 §4.2.2 item 5.4), or none: then the 101 names none.
    if (socket.protocol !== "") answer["sec-websocket-protocol"] = socket.protocol;
    // Bun's upgrade would otherwise answer with the client's first offer, a choice the upstream never made.
    // (Bun 1.4.5's client fails such an upstream handshake itself, "Missing client protocol": a guard for when it does not.)
    else if (protocols.length > 0) headers.delete("sec-websocket-protocol");
    return { session, headers: answer };
  }

  /** Connect to a target, retrying connect failures on another one within `retries`. */
  private async open(
    ctx: RequestContext,
    fields: Record<string, string>,
    protocols: string[],
    target: string,
  ): Promise<{ socket: WebSocket; early: (string | Buffer)[] }> {
    const up = this.binding;
    const cfg = up.config;
    const timeout = cfg.timeouts.connect + (this.route.timeout > 0 ? this.route.timeout : cfg.timeouts.read);
    let exclude: number[] | null = null;
    let lastError: GatewayError | null = null;
    let i = up.runtime.pick(ctx, null);
    for (let attempt = 0; ; attempt++) {
      if (i < 0) throw lastError ?? noTarget(up);
      if (ctx.req.signal.aborted) throw clientClosed();
      const t = up.runtime.targets[i]!;
      const host = t.host.includes(":") ? `[${t.host}]` : t.host;
      const url = `${t.protocol === "https:" ? "wss" : "ws"}://${host}:${t.port}${target}`;
      fields.host = cfg.preserve_host && ctx.hostPort !== "" ? ctx.hostPort : up.hostHeaders[i]!;
      ctx.target = up.targetNames[i]!;
      ctx.tries = attempt + 1;
      up.runtime.onStart(i);
      const sent = performance.now();
      try {
        // A discovered address still presents its host name for SNI and the certificate check (as the pool does).
        const serverName = t.protocol === "https:" && t.hostname !== undefined ? t.hostname : null;
        const opened = await connectOnce(url, fields, protocols, timeout, serverName);
        const took = performance.now() - sent;
        ctx.upstreamMs += took;
        // The handshake is the request the balancer and breaker judge; the relayed session is not.
        up.runtime.onEnd(i, false, took);
        if (ctx.req.signal.aborted) {
          opened.socket.close(CLOSE.goingAway, "client went away");
          throw clientClosed();
        }
        return opened;
      } catch (e) {
        const took = performance.now() - sent;
        ctx.upstreamMs += took;
        if (!(e instanceof HandshakeFailure)) throw e;
        if (e.status === 0) up.runtime.onConnectFailure(i, took);
        else up.runtime.onEnd(i, e.status < 0 || up.failureStatuses.has(e.status), took);
        lastError = e.error;
        // Only a connect failure sent nothing: another target may be tried.
        if (e.status !== 0 || attempt + 1 >= 1 + cfg.retries) throw e.error;
        (exclude ??= []).push(i);
        i = up.runtime.pick(ctx, exclude);
      }
    }
  }

}

/**
 * What a relayed session depends on: its route's config and its upstream's.
 * A reload that changes neither leaves the session running; otherwise it is
 * closed with 1001 (worker.ts), and the client reconnects through the new config.
 */
export function webSocketKey(route: RouteConfig, upstream: UpstreamConfig | undefined): string {
  return JSON.stringify([route, upstream ?? null]);
}

/** Why a handshake with the upstream failed; status 0: connect failure, -1: timeout, else the upstream's non-101 status. */
class HandshakeFailure extends Error {
  constructor(
    readonly status: number,
    readonly error: GatewayError,
  ) {
    super(error.message);
  }
}

function connectOnce(
  url: string,
  headers: Record<string, string>,
  protocols: string[],
  timeoutMs: number,
  serverName: string | null,
): Promise<{ socket: WebSocket; early: (string | Buffer)[] }> {
  return new Promise((resolve, reject) => {
    const early: (string | Buffer)[] = [];
    const opts: Bun.WebSocketOptions = { headers, protocols, perMessageDeflate: false };
    if (serverName !== null) opts.tls = { serverName };
    const ws = new WebSocket(url, opts);
    ws.binaryType = "nodebuffer";
    let message = "";
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      ws.terminate();
      reject(new HandshakeFailure(-1, new GatewayError("upstream_timeout", 504, "upstream did not complete the WebSocket handshake in time", { source: "upstream" })));
    }, timeoutMs);
    ws.onopen = () => {
      settled = true;
      clearTimeout(timer);
      // Hold what the upstream sends until the client's socket is open (WsSession.open).
      ws.pause();
      ws.onmessage = (e: MessageEvent) => early.push(e.data as string | Buffer);
      ws.onerror = null;
      ws.onclose = null;
      resolve({ socket: ws, early });
    };
    ws.onerror = (e: Event) => {
      message = (e as ErrorEvent).message ?? "";
    };
    ws.onclose = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const m = /Expected 101 status code: (\d{3})/.exec(message);
      if (m !== null) {
        const status = Number(m[1]);
        // A refusal the client can act on (401, 403, 404) keeps its status; anything else is a bad gateway.
        const answer = status >= 400 && status < 500 ? status : 502;
        reject(new HandshakeFailure(status, new GatewayError("upstream_protocol", answer, `upstream refused the WebSocket handshake (${status})`, { source: "upstream" })));
      } else if (/Missing client protocol/.test(message)) {
        reject(new HandshakeFailure(502, new GatewayError("upstream_protocol", 502, "upstream chose none of the offered subprotocols", { source: "upstream" })));
      } else if (/connect|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH/i.test(message)) {
        reject(new HandshakeFailure(0, new GatewayError("upstream_unreachable", 502, "upstream unreachable", { source: "upstream", retryable: true, cause: message })));
      } else {
        reject(new HandshakeFailure(502, new GatewayError("upstream_protocol", 502, "upstream WebSocket handshake failed", { source: "upstream", cause: message })));
      }
    };
  });
}

function noTarget(up: UpstreamBinding): GatewayError {
  return new GatewayError("service_unavailable", 503, "no healthy upstream target", {
    source: "upstream",
    headers: { "retry-after": String(Math.max(1, Math.ceil(retryAfterSeconds(up.runtime)))) },
  });
}
