import type { Server } from "bun";
import { clientClosed, GatewayError } from "../errors.ts";
import type { AccessEntry, RequestContext } from "../policies/context.ts";
import { errorResponse, jsonError, toGatewayError } from "../policies/respond.ts";
import { knownBody, noteBody } from "../policies/types.ts";
import type { AccessLog } from "./access-log.ts";
import { accept } from "./pre-route.ts";
import { httpDate } from "./proxy/headers.ts";
import { CLOSE, hostProblem } from "./request-checks.ts";
import { pickVariant, type Chain, type CompiledRoute } from "./route.ts";
import type { Snapshot } from "./snapshot.ts";
import type { WsData } from "./websocket/session.ts";
import type { PendingUpgrade, WebSocketTerminal } from "./websocket/terminal.ts";

/** Mutable per-worker state the handler reads on every request. */
export interface ServeState {
  snapshot: Snapshot;
  draining: boolean;
  log: AccessLog | null;
  /** The worker's server, for WebSocket upgrades (websocket routes); absent in in-process handler tests. */
  server?: Server<WsData> | null;
}

/**
 * A request, in order (DESIGN.md): accept (request id, client IP), the
 * pre-route stage, the gateway's own checks and liveness answer, routing
 * (404 / 405), the route's request hooks, its terminal, then the response
 * side: error hooks, response hooks (reverse order), the headers every
 * response carries, cleanups, log hooks and the access-log line.
 *
 * Written with explicit promise chaining instead of async/await so that a
 * route whose hooks are synchronous pays for exactly one promise: the
 * terminal's.
 */
export function createHandler(state: ServeState) {
  return function handle(req: Request, server: Server<any>): Response | Promise<Response | undefined> | undefined {
    const snap = state.snapshot;
    const ctx = accept(req, server, snap.config.server.request_id_header, snap.trustedProxies);
    // The pre-route stage: every request passes it, before routing.
    const pre = snap.preRoute;
    for (let k = 0; k < pre.length; k++) {
      let r: Response | undefined | Promise<Response | undefined>;
      try {
        r = pre[k]!(ctx);
      } catch (e) {
        return answer(state, ctx, snap.unrouted, snap.preRouteAt[k]!, null, e);
      }
      if (r === undefined) continue;
      if (r instanceof Promise) return preRouteAsync(state, snap, ctx, k, r);
      return answer(state, ctx, snap.unrouted, snap.preRouteAt[k]!, r, null);
    }
    return dispatch(state, snap, ctx);
  };
}

async function preRouteAsync(
  state: ServeState,
  snap: Snapshot,
  ctx: RequestContext,
  at: number,
  pending: Promise<Response | undefined>,
): Promise<Response | undefined> {
  const pre = snap.preRoute;
  let k = at;
  try {
    const first = await pending;
    if (first) return answer(state, ctx, snap.unrouted, snap.preRouteAt[k]!, first, null);
    for (k = at + 1; k < pre.length; k++) {
      const r = await pre[k]!(ctx);
      if (r) return answer(state, ctx, snap.unrouted, snap.preRouteAt[k]!, r, null);
    }
  } catch (e) {
    return answer(state, ctx, snap.unrouted, snap.preRouteAt[k]!, null, e);
  }
  return dispatch(state, snap, ctx);
}

/** The gateway's own checks, the liveness answer, routing, then the route. */
function dispatch(state: ServeState, snap: Snapshot, ctx: RequestContext): Response | Promise<Response | undefined> {
  const cfg = snap.config.server;
  const unrouted = snap.unrouted;
  const pre = unrouted.policies.length;
  const ridHeader = cfg.request_id_header;
  const requestId = ctx.requestId;
  const method = ctx.method;
  // What Bun's parser passes but must not be forwarded (request-checks.ts); each answer closes the connection.
  const bad = hostProblem(ctx.req.headers.get("host"));
  if (bad !== null) return answer(state, ctx, unrouted, pre, jsonError(400, "bad_request", bad, requestId, ridHeader, CLOSE), null);
  // A fragment is not part of a request-target (RFC 9112 §3.2); Bun keeps it, an upstream would cut it off.
  if (ctx.path.indexOf("#") >= 0 || ctx.query.indexOf("#") >= 0) {
    return answer(state, ctx, unrouted, pre, jsonError(400, "bad_request", "invalid request target", requestId, ridHeader, CLOSE), null);
  }
  // No tunnels (RFC 9110 §9.3.6): refused before any route or upstream is involved.
  if (method === "CONNECT") {
    return answer(state, ctx, unrouted, pre, jsonError(501, "not_implemented", "CONNECT is not supported", requestId, ridHeader, CLOSE), null);
  }
  if (ctx.path === cfg.health_path) {
    // Load-balancer probes are not logged: they would drown the log.
    const res = state.draining
      ? jsonError(503, "draining", "gateway is shutting down", requestId, ridHeader)
      : new Response('{"status":"ok"}', { headers: { "content-type": "application/json", [ridHeader]: requestId } });
    return answer(state, ctx, unrouted, pre, res, null, false);
  }
  if (ctx.path.length + ctx.query.length > cfg.max_url_length) {
    return answer(state, ctx, unrouted, pre, jsonError(414, "uri_too_long", "request target too long", requestId, ridHeader), null);
  }
  const match = snap.router.find(method, ctx.host, ctx.path);
  if (match === null) {
    return answer(state, ctx, unrouted, pre, jsonError(404, "not_found", "no route matches this request", requestId, ridHeader), null);
  }
  if (match.value === undefined) {
    const res = jsonError(405, "method_not_allowed", `method ${method} is not allowed here`, requestId, ridHeader, { allow: match.allow });
    return answer(state, ctx, unrouted, pre, res, null);
  }
  let route = match.value;
  if (route.variants !== null) {
    // Routes on this path told apart by `match` (version routing): the first whose conditions hold.
    const picked = pickVariant(route.variants, ctx);
    if (picked === null) return answer(state, ctx, unrouted, pre, jsonError(404, "not_found", "no route matches this request", requestId, ridHeader), null);
    route = picked;
  }
  ctx.route = route.config;
  ctx.params = match.params;
  return run(state, ctx, route);
}

/** The route's request hooks in order; the first Response answers; then the terminal. */
function run(state: ServeState, ctx: RequestContext, route: CompiledRoute): Response | Promise<Response | undefined> {
  const chain = route.chain;
  const hooks = chain.request;
  for (let k = 0; k < hooks.length; k++) {
    let r: Response | undefined | Promise<Response | undefined>;
    try {
      r = hooks[k]!(ctx);
    } catch (e) {
      return answer(state, ctx, chain, chain.requestAt[k]!, null, e);
    }
    if (r === undefined) continue;
    if (r instanceof Promise) return continueAsync(state, ctx, route, k, r);
    return answer(state, ctx, chain, chain.requestAt[k]!, r, null);
  }
  return terminal(state, ctx, route);
}

async function continueAsync(
  state: ServeState,
  ctx: RequestContext,
  route: CompiledRoute,
  at: number,
  pending: Promise<Response | undefined>,
): Promise<Response | undefined> {
  const chain = route.chain;
  const hooks = chain.request;
  let k = at;
  try {
    const first = await pending;
    if (first) return answer(state, ctx, chain, chain.requestAt[k]!, first, null);
    for (k = at + 1; k < hooks.length; k++) {
      const r = await hooks[k]!(ctx);
      if (r) return answer(state, ctx, chain, chain.requestAt[k]!, r, null);
    }
  } catch (e) {
    return answer(state, ctx, chain, chain.requestAt[k]!, null, e);
  }
  return terminal(state, ctx, route);
}

function terminal(state: ServeState, ctx: RequestContext, route: CompiledRoute): Promise<Response | undefined> {
  const chain = route.chain;
  const end = chain.policies.length;
  if (route.terminal.kind === "upgrade") {
    return (route.terminal as WebSocketTerminal).connect(ctx).then(
      (pending) => upgrade(state, ctx, chain, pending),
      (e) => answer(state, ctx, chain, end, null, e),
    );
  }
  return route.terminal.run(ctx).then(
    (res) => answer(state, ctx, chain, end, res, null),
    (e) => answer(state, ctx, chain, end, null, e),
  );
}

/**
 * A WebSocket route whose upstream socket is open: upgrade the client
 * (Bun answers 101 with `pending.headers`) and log the exchange as 101.
 * The route's cleanups (a concurrency slot) are held until the session ends:
 * a concurrency limit on a WebSocket route bounds its open connections.
 */
function upgrade(state: ServeState, ctx: RequestContext, chain: Chain, pending: PendingUpgrade): Response | Promise<Response> | undefined {
  const server = state.server;
  if (server && server.upgrade(ctx.req, { headers: pending.headers, data: { session: pending.session } })) {
    if (ctx.cleanups !== null) pending.session.onEnd = () => runCleanups(ctx);
    logExchange(state, ctx, chain, chain.policies.length, 101, null, true);
    return undefined;
  }
  pending.session.abort();
  return answer(state, ctx, chain, chain.policies.length, null, new GatewayError("bad_request", 400, "WebSocket upgrade failed"));
}

/**
 * The response side. `at`: the index of the policy that answered (or failed),
 * the chain's length when the terminal did: the policies before it saw the
 * request, and only their response hooks run; log hooks run for those and for
 * the one that answered. On a failure, error hooks (reverse order) may answer
 * instead (stale-if-error): then only the response hooks before that one run.
 */
function answer(
  state: ServeState,
  ctx: RequestContext,
  chain: Chain,
  at: number,
  given: Response | null,
  error: unknown,
  accessLog = true,
): Response | Promise<Response> {
  const reached = at;
  let res: Response;
  let failure: GatewayError | null = null;
  if (given === null) {
    failure = toGatewayError(error);
    // Whatever broke (its body read, say) after the client left is logged as nginx does: 499 client_closed.
    if (failure.kind !== "client_closed" && ctx.req.signal.aborted) failure = clientClosed();
    let recovered: Response | null = null;
    const eh = chain.error;
    for (let k = 0; k < eh.length; k++) {
      const i = chain.errorAt[k]!;
      if (i >= at) continue;
      const r = eh[k]!(ctx, failure);
      if (r) {
        recovered = r;
        at = i;
        break;
      }
    }
    res = recovered ?? errorResponse(failure, ctx.requestId, state.snapshot.config.server.request_id_header);
  } else res = given;
  // An answer not built by the terminal (a policy's, a cache hit) carries the request id like every other.
  if (at !== chain.policies.length || failure !== null) setHeader(res, state.snapshot.config.server.request_id_header, ctx.requestId);
  const rh = chain.response;
  for (let k = 0; k < rh.length; k++) {
    if (chain.responseAt[k]! >= at) continue;
    const want = chain.responseBuffer[k]!;
    let body: Uint8Array | null = null;
    if (want > 0 && res.body !== null) {
      const known = knownBody(res);
      if (known === undefined) return responseAsync(state, ctx, chain, at, reached, k, res, failure, accessLog);
      if (known.length <= want) body = known;
    }
    const r = rh[k]!(ctx, res, body);
    if (r instanceof Promise) return responseAsync(state, ctx, chain, at, reached, k, res, failure, accessLog, r);
    if (r) res = r;
  }
  return complete(state, ctx, chain, reached, res, failure, accessLog);
}

/** The rest of the response hooks from hook k on, once one needs a body read or returned a promise. */
async function responseAsync(
  state: ServeState,
  ctx: RequestContext,
  chain: Chain,
  at: number,
  reached: number,
  from: number,
  res: Response,
  failure: GatewayError | null,
  accessLog: boolean,
  pending?: Promise<Response | void>,
): Promise<Response> {
  const rh = chain.response;
  let k = from;
  try {
    if (pending !== undefined) {
      const r = await pending;
      if (r) res = r;
      k++;
    }
    for (; k < rh.length; k++) {
      if (chain.responseAt[k]! >= at) continue;
      const want = chain.responseBuffer[k]!;
      let body: Uint8Array | null = null;
      if (want > 0 && res.body !== null) {
        let known = knownBody(res);
        if (known === undefined) {
          const read = await readUpTo(ctx, res, chain.buffer);
          res = read.res;
          known = read.bytes ?? undefined;
        }
        if (known !== undefined && known.length <= want) body = known;
      }
      const r = await rh[k]!(ctx, res, body);
      if (r) res = r;
    }
  } catch (e) {
    failure = toGatewayError(e);
    res = errorResponse(failure, ctx.requestId, state.snapshot.config.server.request_id_header);
  }
  return complete(state, ctx, chain, reached, res, failure, accessLog);
}

/**
 * The body of `res` read whole when it has at most `cap` bytes: then a
 * response like it with those bytes (known to later hooks) and the bytes.
 * A larger body: a response that streams what was read, then the rest; no bytes.
 */
async function readUpTo(ctx: RequestContext, res: Response, cap: number): Promise<{ res: Response; bytes: Uint8Array | null }> {
  const reader = res.body!.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.byteLength;
    if (total > cap) {
      let i = 0;
      const replay = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (i < chunks.length) return controller.enqueue(chunks[i++]!);
          const next = await reader.read();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        },
        cancel: (reason) => reader.cancel(reason),
      });
      return { res: new Response(replay, { status: res.status, headers: res.headers }), bytes: null };
    }
  }
  const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  // The upstream's body has been read to its end: cleanups need not wait for it any more.
  ctx.streamedBody = false;
  return { res: noteBody(new Response(bytes, { status: res.status, headers: res.headers }), bytes), bytes };
}

/** Headers every response carries, cleanups, log hooks, the access-log line. */
function complete(
  state: ServeState,
  ctx: RequestContext,
  chain: Chain,
  reached: number,
  res: Response,
  failure: GatewayError | null,
  accessLog: boolean,
): Response {
  if (ctx.responseHeaders !== null) for (const [k, v] of ctx.responseHeaders) setHeader(res, k, v);
  if (state.draining) setHeader(res, "connection", "close");
  // server.hsts (RFC 6797 §7.1): the gateway terminates TLS, so its policy replaces an upstream's. Only set with server.tls.
  const hsts = state.snapshot.config.server.hsts;
  if (hsts !== null) setHeader(res, "strict-transport-security", hsts.header);
  // Bun adds Date to every response but one to HEAD (RFC 9110 §6.6.1: an origin with a clock MUST send it).
  if (ctx.method === "HEAD" && !res.headers.has("date")) setHeader(res, "date", httpDate());
  // A body in hand (bytes, an error, a policy's answer) is the end of the exchange; a streamed one ends with its last byte.
  if (ctx.cleanups !== null) res = ctx.streamedBody ? releaseWhenDone(ctx, res) : (runCleanups(ctx), res);
  logExchange(state, ctx, chain, reached, res.status, failure, accessLog);
  return res;
}

/** Log hooks and the access-log line of an exchange that ended with `status`. */
function logExchange(state: ServeState, ctx: RequestContext, chain: Chain, reached: number, status: number, failure: GatewayError | null, accessLog: boolean): void {
  const lh = chain.log;
  const log = accessLog ? state.log : null;
  if (log !== null || lh.length !== 0) {
    const entry: AccessEntry = {
      request_id: ctx.requestId,
      method: ctx.method,
      path: ctx.path.length > 2048 ? ctx.path.slice(0, 2048) : ctx.path,
      status,
      duration_ms: performance.now() - ctx.start,
      client_ip: ctx.clientIp,
      route: ctx.route === null ? null : ctx.route.name,
      target: ctx.target,
      tries: ctx.tries,
      error: failure ? `${failure.kind}${failure.cause ? `: ${describe(failure.cause)}` : ""}` : undefined,
    };
    const fields = ctx.logFields;
    if (fields !== null) for (let k = 0; k < fields.length; k++) entry[fields[k]![0]] = fields[k]![1];
    for (let k = 0; k < lh.length; k++) {
      if (chain.logAt[k]! > reached) continue;
      try {
        lh[k]!(ctx, entry);
      } catch {
        // a log hook never changes the answer
      }
    }
    log?.log(entry);
  }
}

/** Response.error() and friends have immutable headers: an answer we cannot stamp still goes out. */
function setHeader(res: Response, name: string, value: string): void {
  try {
    res.headers.set(name, value);
  } catch {
    // immutable headers
  }
}

/** Run the context's cleanups, each once; a cleanup that throws does not keep the others from running. */
function runCleanups(ctx: RequestContext): void {
  const fns = ctx.cleanups;
  if (fns === null) return;
  ctx.cleanups = null;
  for (const fn of fns) {
    try {
      fn();
    } catch {
      // nothing to do: the slot it held expires with its lease
    }
  }
}

/** Run the context's cleanups once, when the streamed body has been sent or the client went away. */
function releaseWhenDone(ctx: RequestContext, res: Response): Response {
  const release = () => runCleanups(ctx);
  ctx.req.signal.addEventListener("abort", release, { once: true });
  if (res.body === null) {
    release();
    return res;
  }
  const reader = res.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done: end, value } = await reader.read();
        if (end) {
          controller.close();
          release();
        } else controller.enqueue(value);
      } catch (e) {
        release();
        controller.error(e);
      }
    },
    cancel(reason) {
      release();
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

function describe(cause: unknown): string {
  if (cause instanceof Error) return (cause as { code?: string }).code ?? cause.message;
  return String(cause);
}
