import type { Server } from "bun";
import { clientClosed, type GatewayError } from "../errors.ts";
import type { RequestContext } from "../policies/context.ts";
import { httpDate } from "./proxy/headers.ts";
import type { AccessLog } from "./access-log.ts";
import { clientAddress } from "./client-ip.ts";
import { proxy } from "./proxy/terminal.ts";
import { CLOSE, hostProblem } from "./request-checks.ts";
import { acceptRequestId } from "./request-id.ts";
import { errorResponse, jsonError, toGatewayError } from "./respond.ts";
import type { RouteEntry, Snapshot } from "./snapshot.ts";

export { skippedHeaders } from "./proxy/terminal.ts";

/** Mutable per-worker state the handler reads on every request. */
export interface ServeState {
  snapshot: Snapshot;
  draining: boolean;
  scheme: "http" | "https";
  log: AccessLog | null;
  /** Names skipped when copying client headers upstream; rebuilt per snapshot. */
  skip: ReadonlySet<string>;
}

export function createHandler(state: ServeState) {
  return function handle(req: Request, server: Server<undefined>): Response | Promise<Response> {
    const snap = state.snapshot;
    const cfg = snap.config.server;
    const url = req.url;
    // req.url is "http://host[:port]/path?q", dot-segment normalized by Bun; just "/path?q" when
    // Bun could not use the Host (absent on HTTP/1.0, or invalid: then hostProblem() refuses it).
    const hostStart = url.charCodeAt(0) !== 104 /* "h" */ ? 0 : url.charCodeAt(4) === 115 /* "s" */ ? 8 : 7;
    let pathStart = url.indexOf("/", hostStart);
    if (pathStart < 0) pathStart = url.length;
    const q = url.indexOf("?", pathStart);
    const path = pathStart === url.length ? "/" : q < 0 ? url.slice(pathStart) : url.slice(pathStart, q);
    const ridHeader = cfg.request_id_header;
    const requestId = acceptRequestId(req.headers.get(ridHeader));
    const method = req.method;

    // What Bun's parser passes but must not be forwarded (request-checks.ts); each answer closes the connection.
    const bad = hostProblem(req.headers.get("host"));
    if (bad !== null) return early(state, req, server, path, jsonError(400, "bad_request", bad, requestId, ridHeader, CLOSE), requestId);
    // A fragment is not part of a request-target (RFC 9112 §3.2); Bun keeps it, an upstream would cut it off.
    if (url.indexOf("#", pathStart) >= 0) {
      return early(state, req, server, path, jsonError(400, "bad_request", "invalid request target", requestId, ridHeader, CLOSE), requestId);
    }
    // No tunnels (RFC 9110 §9.3.6): refused before any route or upstream is involved.
    if (method === "CONNECT") {
      return early(state, req, server, path, jsonError(501, "not_implemented", "CONNECT is not supported", requestId, ridHeader, CLOSE), requestId);
    }

    if (path === cfg.health_path) {
      // Load-balancer probes are not logged: they would drown the log.
      return state.draining
        ? jsonError(503, "draining", "gateway is shutting down", requestId, ridHeader)
        : new Response('{"status":"ok"}', {
            headers: method === "HEAD"
              ? { "content-type": "application/json", [ridHeader]: requestId, date: httpDate() }
              : { "content-type": "application/json", [ridHeader]: requestId },
          });
    }
    if (url.length - pathStart > cfg.max_url_length) {
      return early(state, req, server, path, jsonError(414, "uri_too_long", "request target too long", requestId, ridHeader), requestId);
    }
    const hostPort = url.slice(hostStart, pathStart);
    const host = stripPort(hostPort);
    const match = snap.router.find(method, host, path);
    if (match === null) {
      return early(state, req, server, path, jsonError(404, "not_found", "no route matches this request", requestId, ridHeader), requestId);
    }
    if (match.value === undefined) {
      const res = jsonError(405, "method_not_allowed", `method ${method} is not allowed here`, requestId, ridHeader, { allow: match.allow });
      return early(state, req, server, path, res, requestId);
    }
    const entry = match.value;
    const peerIp = server.requestIP(req)?.address ?? "";
    const ctx: RequestContext = {
      req,
      method,
      path,
      query: q < 0 ? "" : url.slice(q),
      host,
      clientIp: clientAddress(snap.trustedProxies, peerIp, req.headers.get("x-forwarded-for")),
      peerIp,
      requestId,
      route: entry,
      params: match.params,
      start: performance.now(),
      identity: null,
      upstreamHeaders: null,
      responseHeaders: null,
      cleanups: null,
      streamedBody: false,
      target: null,
      tries: 0,
    };
    return run(state, ctx, entry, hostPort);
  };
}

/** Answers given before a route was chosen still get their log line. */
function early(state: ServeState, req: Request, server: Server<undefined>, path: string, res: Response, requestId: string): Response {
  if (state.draining) res.headers.set("connection", "close");
  // Bun adds Date to every response but one to HEAD (RFC 9110 §6.6.1: an origin with a clock MUST send it).
  if (req.method === "HEAD") res.headers.set("date", httpDate());
  state.log?.log({
    request_id: requestId,
    method: req.method,
    path: path.length > 2048 ? path.slice(0, 2048) : path,
    status: res.status,
    duration_ms: 0,
    client_ip: server.requestIP(req)?.address ?? "",
    route: null,
    target: null,
    tries: 0,
  });
  return res;
}

/**
 * Request hooks, then the upstream, then finish(). Written with explicit
 * promise chaining instead of async/await so a route without async hooks
 * pays for exactly one promise: the upstream's.
 */
function run(state: ServeState, ctx: RequestContext, entry: RouteEntry, hostPort: string): Response | Promise<Response> {
  let answered: Response | undefined | Promise<Response | undefined>;
  try {
    answered = runRequestHooks(ctx, entry);
  } catch (e) {
    return finish(state, ctx, entry, null, e);
  }
  if (answered === undefined) return forwardAndFinish(state, ctx, entry, hostPort);
  if (answered instanceof Promise) {
    return answered.then(
      (r) => (r === undefined ? forwardAndFinish(state, ctx, entry, hostPort) : finish(state, ctx, entry, r, null)),
      (e) => finish(state, ctx, entry, null, e),
    );
  }
  return finish(state, ctx, entry, answered, null);
}

function forwardAndFinish(state: ServeState, ctx: RequestContext, entry: RouteEntry, hostPort: string): Promise<Response> {
  return proxy(state, ctx, entry, hostPort).then(
    (res) => finish(state, ctx, entry, res, null),
    (e) => finish(state, ctx, entry, null, e),
  );
}

/** Response hooks (reverse order), headers every response carries, cleanups, the log line. */
function finish(state: ServeState, ctx: RequestContext, entry: RouteEntry, answer: Response | null, error: unknown): Response {
  const ridHeader = state.snapshot.config.server.request_id_header;
  let res: Response;
  let failure: GatewayError | null = null;
  if (answer === null) {
    failure = toGatewayError(error);
    // Whatever broke (its body read, say) after the client left is logged as nginx does: 499 client_closed.
    if (failure.kind !== "client_closed" && ctx.req.signal.aborted) failure = clientClosed();
    res = errorResponse(failure, ctx.requestId, ridHeader);
  } else res = answer;
  // A policy's own answer (401, 403, 429) carries the request id like every other; proxied ones have it already.
  if (ctx.target === null && failure === null) res.headers.set(ridHeader, ctx.requestId);
  const hooks = entry.responseHooks;
  for (let i = 0; i < hooks.length; i++) {
    const replaced = hooks[i]!(ctx, res);
    if (replaced) res = replaced;
  }
  if (ctx.responseHeaders !== null) for (const [k, v] of ctx.responseHeaders) res.headers.set(k, v);
  if (state.draining) res.headers.set("connection", "close");
  if (ctx.method === "HEAD" && !res.headers.has("date")) res.headers.set("date", httpDate());
  // A body in hand (bytes, an error, a policy's answer) is the end of the exchange; a streamed one ends with its last byte.
  if (ctx.cleanups !== null) res = ctx.streamedBody ? releaseWhenDone(ctx, res) : (runCleanups(ctx), res);
  state.log?.log({
    request_id: ctx.requestId,
    method: ctx.method,
    path: ctx.path,
    status: res.status,
    duration_ms: performance.now() - ctx.start,
    client_ip: ctx.clientIp,
    route: entry.name,
    target: ctx.target,
    tries: ctx.tries,
    error: failure ? `${failure.kind}${failure.cause ? `: ${describe(failure.cause)}` : ""}` : undefined,
  });
  return res;
}

/** The route's request hooks in order; the first Response answers the client. Awaits only hooks that return a promise. */
function runRequestHooks(ctx: RequestContext, entry: RouteEntry): Response | undefined | Promise<Response | undefined> {
  const hooks = entry.requestHooks;
  for (let i = 0; i < hooks.length; i++) {
    const r = hooks[i]!(ctx);
    if (r === undefined) continue;
    if (r instanceof Promise) return continueAsync(ctx, hooks, i, r);
    return r;
  }
  return undefined;
}

async function continueAsync(
  ctx: RequestContext,
  hooks: RouteEntry["requestHooks"],
  at: number,
  pending: Promise<Response | undefined>,
): Promise<Response | undefined> {
  const first = await pending;
  if (first) return first;
  for (let i = at + 1; i < hooks.length; i++) {
    const r = await hooks[i]!(ctx);
    if (r) return r;
  }
  return undefined;
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

function stripPort(hostPort: string): string {
  if (hostPort.charCodeAt(0) === 91 /* "[" */) {
    const end = hostPort.indexOf("]");
    return end < 0 ? hostPort : hostPort.slice(1, end);
  }
  const c = hostPort.lastIndexOf(":");
  return c < 0 ? hostPort : hostPort.slice(0, c);
}

function describe(cause: unknown): string {
  if (cause instanceof Error) return (cause as { code?: string }).code ?? cause.message;
  return String(cause);
}
