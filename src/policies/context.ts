import type { Identity } from "../auth/identity.ts";
import type { RouteConfig } from "../config/types.ts";
import type { TraceState } from "../tracing/trace-context.ts";

export type { Identity } from "../auth/identity.ts";

/**
 * One object per request, made by the pre-route stage (src/data/pre-route.ts)
 * and passed to every hook. The URL is parsed once, there; policies read
 * these fields and never parse it again.
 */
export interface RequestContext {
  readonly req: Request;
  readonly method: string;
  /** Raw path as sent (percent-encoding kept), without the query. */
  readonly path: string;
  /** Raw query including the leading "?", or "". */
  readonly query: string;
  /** Host without port, lower-cased. */
  readonly host: string;
  /** Host with its port, as the client sent it ("" for an HTTP/1.0 request without Host). */
  readonly hostPort: string;
  /** Client address after trusted-proxy X-Forwarded-For processing. */
  readonly clientIp: string;
  /** The TCP peer's address. */
  readonly peerIp: string;
  readonly requestId: string;
  /** The matched route's config; null before routing and for requests no route serves (404, 405). */
  route: RouteConfig | null;
  /** The matched route's params (percent-decoded). */
  params: Record<string, string>;
  /** performance.now() at accept. */
  readonly start: number;
  identity: Identity | null;
  /** Extra headers for the upstream request (identity headers, etc.). */
  upstreamHeaders: [string, string][] | null;
  /** Extra headers for the client response (RateLimit, etc.). */
  responseHeaders: [string, string][] | null;
  /** Run exactly once when the exchange ends, whatever the outcome (releases concurrency slots). */
  cleanups: (() => void)[] | null;
  /** The response body is an upstream stream still arriving (not bytes in hand): cleanups wait for its end. */
  streamedBody: boolean;
  /** Name of the target that served the request, for the log. */
  target: string | null;
  /** Upstream tries made. */
  tries: number;
  /** Milliseconds spent waiting for upstream response heads, over all tries (metrics, access log). */
  upstreamMs: number;
  /** Response body bytes when known (Content-Length), else -1: set by the metrics policy's last response hook. */
  bytesOut: number;
  /**
   * W3C trace state, set by the tracing policy (null when propagation is off).
   * A field, not a WeakMap keyed by the context: a WeakMap entry per request
   * measured 100-200 ns plus ephemeron work in every GC, a field ~0.
   */
  trace: TraceState | null;
  /** Access-log fields a policy decided on the request path (the limit decision): written after the fixed ones. */
  logFields: [string, string][] | null;
  /** The plugins' view of this request (src/policies/plugins/view.ts), made on the first plugin hook; a field for the reason `trace` is one. */
  pluginView: object | null;
}

/**
 * The outgoing request of one upstream try, as onUpstreamRequest hooks see
 * it. Built from the client's request after the gateway's own forwarding
 * rules (hop-by-hop fields gone, X-Forwarded-* and Via to come); what a hook
 * leaves here is what the upstream gets.
 */
export interface UpstreamDraft {
  /** Raw path, percent-encoded as it goes on the wire; always starts with "/". */
  path: string;
  /** Raw query with its "?", or "". */
  query: string;
  /** A header's value (names are case-insensitive), or null. */
  getHeader(name: string): string | null;
  /** Replace a header (every field of that name). The value must not carry CR, LF or NUL: such a value is refused with 400. */
  setHeader(name: string, value: string): void;
  /** Add a value to a header, after any it has. */
  appendHeader(name: string, value: string): void;
  /** Remove a header. */
  removeHeader(name: string): void;
  /**
   * The body as it will be sent: bytes (read whole, up to 64 KiB or the
   * route's request buffer), a stream, or null. Set bytes (or null) to
   * replace it; the framing (Content-Length) follows.
   */
  body: Uint8Array | ReadableStream<Uint8Array> | null;
}

/**
 * One access-log line, and what onLog hooks may add to it. The gateway fills
 * the fixed fields; policies add theirs (cache status, limit decision, trace
 * id) as extra members, which are written as JSON after the fixed ones.
 */
export interface AccessEntry {
  request_id: string;
  method: string;
  path: string;
  status: number;
  duration_ms: number;
  client_ip: string;
  route: string | null;
  target: string | null;
  tries: number;
  error?: string;
  [field: string]: unknown;
}

export function addResponseHeader(ctx: RequestContext, name: string, value: string): void {
  (ctx.responseHeaders ??= []).push([name, value]);
}

/** An access-log field from the request path, for a policy that has no onLog hook of its own to carry it. */
export function addLogField(ctx: RequestContext, name: string, value: string): void {
  (ctx.logFields ??= []).push([name, value]);
}

export function addUpstreamHeader(ctx: RequestContext, name: string, value: string): void {
  (ctx.upstreamHeaders ??= []).push([name, value]);
}

export function onCleanup(ctx: RequestContext, fn: () => void): void {
  (ctx.cleanups ??= []).push(fn);
}
