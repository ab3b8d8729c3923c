import type { CompiledRoute } from "../data/route.ts";

/** Who the caller is, once an auth policy has said so. */
export interface Identity {
  via: "jwt" | "api_key";
  /** [[consumers]].name, when the key or the token's consumer claim names one. */
  consumer: string | null;
  /** JWT `sub`; null for API keys. */
  subject: string | null;
  roles: string[];
  scopes: string[];
  /** Verified JWT claims; null for API keys. */
  claims: Record<string, unknown> | null;
}

/**
 * One object per request, made by the server and passed to every policy hook.
 * The URL is parsed once, here; policies read these fields and never re-parse.
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
  /** Client address after trusted-proxy X-Forwarded-For processing. */
  readonly clientIp: string;
  /** The TCP peer's address. */
  readonly peerIp: string;
  readonly requestId: string;
  readonly route: CompiledRoute;
  readonly params: Record<string, string>;
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
  /** Retries taken. */
  tries: number;
}

export function addResponseHeader(ctx: RequestContext, name: string, value: string): void {
  (ctx.responseHeaders ??= []).push([name, value]);
}

export function addUpstreamHeader(ctx: RequestContext, name: string, value: string): void {
  (ctx.upstreamHeaders ??= []).push([name, value]);
}

export function onCleanup(ctx: RequestContext, fn: () => void): void {
  (ctx.cleanups ??= []).push(fn);
}
