/**
 * Header rules for forwarding, RFC 9110 §7.6.1: hop-by-hop fields, and any
 * field named in Connection, apply to one connection only and are not
 * forwarded in either direction.
 */

/** RFC 9110 §7.6.1 list plus the de-facto ones (Keep-Alive, Proxy-Connection) and Proxy-Authorization (§11.7.2: for this proxy). */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Names listed in a Connection header value, lower-cased; null when none. */
export function connectionTokens(value: string | null): Set<string> | null {
  if (!value) return null;
  let out: Set<string> | null = null;
  for (const raw of value.split(",")) {
    const t = raw.trim().toLowerCase();
    if (t && t !== "close" && t !== "keep-alive") (out ??= new Set()).add(t);
  }
  return out;
}

/** A field value may not carry CR, LF or NUL (RFC 9110 §5.5); such a value must not reach the head we write. */
export function isSafeFieldValue(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 13 || c === 10 || c === 0) return false;
  }
  return true;
}

/**
 * Upstream response header pairs minus hop-by-hop fields, ready for
 * `new Response(body, { headers })`. `replaced`: headers the gateway sets
 * itself; upstream copies of those names are dropped.
 */
export function filterResponseHeaders(pairs: [string, string][], replaced: readonly [string, string][] | null = null): [string, string][] {
  let connection: Set<string> | null = null;
  for (const [k, v] of pairs) if (k.length === 10 && k.toLowerCase() === "connection") connection = connectionTokens(v);
  const ours = replaced === null ? null : new Set(replaced.map((h) => h[0].toLowerCase()));
  const out: [string, string][] = [];
  for (const pair of pairs) {
    const lower = pair[0].toLowerCase();
    if (HOP_BY_HOP.has(lower) || (connection !== null && connection.has(lower)) || (ours !== null && ours.has(lower))) continue;
    out.push(pair);
  }
  return out;
}
