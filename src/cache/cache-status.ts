/**
 * The Cache-Status field (RFC 9211): `gateway; hit; ttl=12`,
 * `gateway; fwd=miss; stored`, `gateway; fwd=stale; fwd-status=304`, … one
 * member, named after this cache, on every response of a cached route.
 */

export type Forward = "uri-miss" | "vary-miss" | "miss" | "request" | "stale" | "bypass";

export const CACHE_NAME = "gateway";

export function hitStatus(ttlMs: number, extra = ""): string {
  return `${CACHE_NAME}; hit; ttl=${Math.floor(ttlMs / 1000)}${extra}`;
}

export function forwardStatus(fwd: Forward, opts: { status?: number; stored?: boolean; collapsed?: boolean; ttlMs?: number; detail?: string } = {}): string {
  let s = `${CACHE_NAME}; fwd=${fwd}`;
  if (opts.status !== undefined) s += `; fwd-status=${opts.status}`;
  if (opts.ttlMs !== undefined) s += `; ttl=${Math.floor(opts.ttlMs / 1000)}`;
  if (opts.stored) s += "; stored";
  if (opts.collapsed) s += "; collapsed";
  if (opts.detail !== undefined) s += `; detail=${opts.detail}`;
  return s;
}
