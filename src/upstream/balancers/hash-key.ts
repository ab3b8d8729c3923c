import type { BalanceRequest } from "../types.ts";

/**
 * Request keys for the hash balancer, compiled once from `hash_key`. Each
 * extractor hashes its key where it lies in the request (a header value, a
 * slice of the Cookie header or of the query) without slicing out a new
 * string. Returns an unsigned 32-bit hash, or -1 when the request has no such
 * key (or an empty one): the balancer then falls back to round robin, as
 * nginx's `hash` does for an empty key.
 */
export type KeyHash = (ctx: BalanceRequest) => number;

const EQUALS = 61;
const SPACE = 32;

/** FNV-1a over UTF-16 code units of s[start, end), then murmur3's fmix32 so nearby keys spread over the ring. */
export function hashRange(s: string, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function hashString(s: string): number {
  return hashRange(s, 0, s.length);
}

function hashOrMissing(s: string | null): number {
  return s ? hashRange(s, 0, s.length) : -1;
}

/**
 * Compile `hash_key` ("ip" | "path" | "header:NAME" | "cookie:NAME" |
 * "query:NAME"). Throws with the problem (the caller prefixes the key path).
 */
export function compileKeyHash(spec: string): KeyHash {
  if (spec === "ip") return (ctx) => hashOrMissing(ctx.clientIp);
  if (spec === "path") return (ctx) => hashOrMissing(ctx.path);
  const colon = spec.indexOf(":");
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const name = colon < 0 ? "" : spec.slice(colon + 1).trim();
  if (kind !== "header" && kind !== "cookie" && kind !== "query") {
    throw new Error(`unknown hash key "${spec}" (expected ip, path, header:NAME, cookie:NAME or query:NAME)`);
  }
  if (name === "") throw new Error(`hash key "${spec}" needs a name after "${kind}:"`);
  if (kind === "header") {
    const header = name.toLowerCase();
    return (ctx) => hashOrMissing(ctx.req.headers.get(header));
  }
  if (kind === "cookie") return (ctx) => hashCookie(ctx.req.headers.get("cookie"), name);
  return (ctx) => hashQueryParam(ctx.query, name);
}

/** Value of cookie `name` in a Cookie header ("a=1; b=2", RFC 6265 §5.4), hashed in place. */
export function hashCookie(header: string | null, name: string): number {
  if (!header) return -1;
  const len = header.length;
  let i = 0;
  while (i < len) {
    while (i < len && header.charCodeAt(i) === SPACE) i++;
    let end = header.indexOf(";", i);
    if (end < 0) end = len;
    if (header.startsWith(name, i) && header.charCodeAt(i + name.length) === EQUALS) {
      let v = i + name.length + 1;
      let e = end;
      while (v < e && header.charCodeAt(v) === SPACE) v++;
      while (e > v && header.charCodeAt(e - 1) === SPACE) e--;
      return e > v ? hashRange(header, v, e) : -1;
    }
    i = end + 1;
  }
  return -1;
}

/** Raw (not percent-decoded) value of the first `name` parameter in "?a=1&b=2", hashed in place. */
export function hashQueryParam(query: string, name: string): number {
  const len = query.length;
  let i = query.charCodeAt(0) === 63 /* ? */ ? 1 : 0;
  while (i < len) {
    let end = query.indexOf("&", i);
    if (end < 0) end = len;
    if (query.startsWith(name, i) && query.charCodeAt(i + name.length) === EQUALS) {
      const v = i + name.length + 1;
      return end > v ? hashRange(query, v, end) : -1;
    }
    i = end + 1;
  }
  return -1;
}
