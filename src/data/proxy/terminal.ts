import { removeQueryParam } from "../../auth/index.ts";
import { GatewayError } from "../../errors.ts";
import type { RequestContext } from "../../policies/context.ts";
import { forward, type ForwardRequest } from "./forward.ts";
import { appendVia, connectionTokens, forwardedResponse } from "./headers.ts";
import { limitBody } from "./body.ts";
import type { ServeState } from "../handler.ts";
import { answerAsFinalRecipient, CLOSE, contentLength, hiddenBody, maxForwards } from "../request-checks.ts";
import type { RouteEntry, Snapshot } from "../snapshot.ts";

/** Bodies up to this size are read whole before forwarding (like nginx's client body buffer): one write upstream, and retries can resend them. Larger bodies stream. */
const BUFFER_BODY_MAX = 64 * 1024;

/**
 * Client headers never copied upstream: hop-by-hop (RFC 9110 §7.6.1), framing
 * we redo, the ones we set, and Expect: Bun answers 100-continue itself and
 * the body is sent on at once (§10.1.1).
 */
export function skippedHeaders(snapshot: Snapshot): ReadonlySet<string> {
  const s = new Set([
    "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
    "te", "trailer", "transfer-encoding", "upgrade",
    "host", "content-length", "expect", "via",
    "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-real-ip",
    snapshot.config.server.request_id_header,
    ...snapshot.stripInbound,
  ]);
  if (snapshot.stripAuthorization) s.add("authorization");
  if (snapshot.config.auth.strip_api_key) s.add(snapshot.config.auth.api_key_header);
  return s;
}

/** TRACE never carries credentials onward, so no one can reflect them (RFC 9110 §9.3.8). */
function traceSkip(snapshot: Snapshot): ReadonlySet<string> {
  return new Set(["max-forwards", "cookie", "authorization", snapshot.config.auth.api_key_header]);
}
const MAX_FORWARDS_ONLY: ReadonlySet<string> = new Set(["max-forwards"]);

/** Build the upstream request from the client's, send it, and turn the upstream's answer into the client's response. */
export async function proxy(state: ServeState, ctx: RequestContext, entry: RouteEntry, hostPort: string): Promise<Response> {
  const snap = state.snapshot;
  const cfg = snap.config.server;
  const req = ctx.req;
  const headers = req.headers;
  const method = ctx.method;
  const skip = state.skip;
  const connection = connectionTokens(headers.get("connection"));
  // toJSON (one native call, names lower-cased) measured 20 % faster than iterating entries.
  const all = headers.toJSON() as Record<string, string | string[]>;

  // Max-Forwards counts down on TRACE and OPTIONS only (RFC 9110 §7.6.2).
  let extraSkip: ReadonlySet<string> | null = null;
  let hops = -1;
  if (method === "TRACE" || method === "OPTIONS") {
    hops = maxForwards(all["max-forwards"]);
    extraSkip = method === "TRACE" ? traceSkip(snap) : MAX_FORWARDS_ONLY;
  }

  // Client headers, minus the ones we own; their size is checked here, in the one pass over them.
  let block = "";
  let size = 0;
  for (const name in all) {
    const value = all[name]!;
    const text = typeof value === "string" ? value : value.join(", ");
    size += name.length + text.length + 4;
    if (skip.has(name) || (connection !== null && connection.has(name)) || (extraSkip !== null && extraSkip.has(name))) continue;
    block += `${name}: ${text}\r\n`;
  }
  if (size > cfg.max_header_size) throw new GatewayError("headers_too_large", 431, "request headers too large");
  if (hops === 0) {
    const reflected = `${method} ${ctx.path}${ctx.query} HTTP/1.1\r\nhost: ${hostPort}\r\n${block}\r\n`;
    return answerAsFinalRecipient(method, reflected, entry.config.methods);
  }
  if (hops > 0) block += `max-forwards: ${hops - 1}\r\n`;

  // RFC 7239 predecessors, as nginx sets them. A client's own X-Forwarded-* is believed only from a trusted proxy.
  const trusted = snap.trustedProxies.has(ctx.peerIp);
  const xff = trusted ? headers.get("x-forwarded-for") : null;
  block += `x-forwarded-for: ${xff ? `${xff}, ${ctx.peerIp}` : ctx.peerIp}\r\n`;
  block += `x-forwarded-proto: ${(trusted && headers.get("x-forwarded-proto")) || state.scheme}\r\n`;
  if (hostPort !== "") block += `x-forwarded-host: ${(trusted && headers.get("x-forwarded-host")) || hostPort}\r\n`;
  block += `x-real-ip: ${ctx.clientIp}\r\n${cfg.request_id_header}: ${ctx.requestId}\r\nvia: ${appendVia(all.via as string | undefined)}\r\n`;
  if (ctx.upstreamHeaders !== null) for (const [k, v] of ctx.upstreamHeaders) block += `${k}: ${v}\r\n`;

  // Body framing is ours to choose (RFC 9112 §6): Content-Length when known, else chunked.
  let body: ForwardRequest["body"] = null;
  let replayable = true;
  const cl = all["content-length"] as string | undefined;
  if (cl !== undefined) {
    const n = contentLength(cl);
    // The rest of the body is never read: close rather than leave it on the connection.
    if (n > cfg.max_body_size) throw new GatewayError("payload_too_large", 413, "request body too large", { headers: CLOSE });
    if (n > 0) {
      block += `content-length: ${n}\r\n`;
      if (n <= BUFFER_BODY_MAX) {
        body = await req.bytes();
        if (body.length !== n) throw hiddenBody(method);
      } else {
        body = req.body;
        if (body === null) throw hiddenBody(method);
        replayable = false;
      }
    } else if (method === "POST" || method === "PUT" || method === "PATCH") {
      block += "content-length: 0\r\n";
    }
  } else if (all["transfer-encoding"] !== undefined) {
    // Bun accepts only a final "chunked" (anything else is its 400) and has decoded it.
    if (req.body === null) throw hiddenBody(method);
    block += "transfer-encoding: chunked\r\n";
    body = limitBody(req.body, cfg.max_body_size);
    replayable = false;
  } else if (method === "POST" || method === "PUT" || method === "PATCH") {
    // No framing means no content (RFC 9112 §6.3 rule 7); say so, as a user agent SHOULD (RFC 9110 §8.6).
    block += "content-length: 0\r\n";
  }

  const path = entry.stripPrefix && ctx.path.startsWith(entry.stripPrefix) ? ctx.path.slice(entry.stripPrefix.length) || "/" : ctx.path;
  const query = snap.stripKeyQuery === null || ctx.query === "" ? ctx.query : removeQueryParam(ctx.query, snap.stripKeyQuery);
  const up = await forward(ctx, entry.binding, {
    requestLine: `${method} ${path.charCodeAt(0) === 47 ? path : `/${path}`}${query} HTTP/1.1\r\n`,
    headerBlock: block,
    clientHost: hostPort,
    body,
    replayable,
    idempotencyKey: headers.has("idempotency-key"),
    routeTimeout: entry.config.timeout,
  });
  // Gateway headers (request id, RateLimit fields) go on last; same-named upstream headers give way.
  const own = ctx.responseHeaders ?? [];
  ctx.responseHeaders = null;
  own.push([cfg.request_id_header, ctx.requestId]);
  // The reason phrase is not forwarded: it carries no semantics (RFC 9112 §4) and Bun supplies the standard one.
  const bytes = up.bodyBytes ?? null;
  ctx.streamedBody = bytes === null && up.body !== null;
  return forwardedResponse(up.status, up.headers, bytes ?? up.body, bytes !== null, own);
}
