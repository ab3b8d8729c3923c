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

/**
 * This gateway's Via entry (RFC 9110 §7.6.3): received-protocol and a
 * pseudonym, never a host name. The client's HTTP version is not visible to
 * the handler, so it always says 1.1.
 */
export const VIA = "1.1 gateway";

/** A Via value with our entry appended to what came before (§7.6.3: in order of forwarding). */
export function appendVia(previous: string | undefined): string {
  return previous ? `${previous}, ${VIA}` : VIA;
}

let dateSecond = -1;
let dateText = "";
/** IMF-fixdate for now (RFC 9110 §5.6.7), formatted at most once a second. */
export function httpDate(): string {
  const s = Math.floor(Date.now() / 1000);
  if (s !== dateSecond) {
    dateSecond = s;
    dateText = new Date(s * 1000).toUTCString();
  }
  return dateText;
}

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
 * itself; upstream copies of those names are dropped. Adds our Via entry
 * (RFC 9110 §7.6.3) and a Date when the upstream sent none (§6.6.1: a
 * recipient with a clock MUST add one to a response it forwards).
 */
export function filterResponseHeaders(pairs: [string, string][], replaced: readonly [string, string][] | null = null): [string, string][] {
  let connection: Set<string> | null = null;
  for (const [k, v] of pairs) if (k.length === 10 && k.toLowerCase() === "connection") connection = connectionTokens(v);
  const ours = replaced === null ? null : new Set(replaced.map((h) => h[0].toLowerCase()));
  const out: [string, string][] = [];
  let via: string | undefined;
  let date = false;
  for (const pair of pairs) {
    const lower = pair[0].toLowerCase();
    if (HOP_BY_HOP.has(lower) || (connection !== null && connection.has(lower)) || (ours !== null && ours.has(lower))) continue;
    if (lower.length === 3 && lower === "via") {
      via = via === undefined ? pair[1] : `${via}, ${pair[1]}`;
      continue;
    }
    if (lower.length === 4 && lower === "date") date = true;
    out.push(pair);
  }
  out.push(["via", appendVia(via)]);
  if (!date) out.push(["date", httpDate()]);
  return out;
}
