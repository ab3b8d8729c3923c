/**
 * Surrogate-Control (W3C Edge Architecture 1.0 §2.2, §2.3): cache
 * directives an origin aims at its surrogates, the reverse proxies and CDNs
 * that act for it, which this gateway is. RFC 9111 §3 lets "a cache
 * extension" allow storing; this is that extension. A directive applies to
 * every surrogate, or, suffixed `;token`, only to the one with that device
 * token; this cache's token is DEVICE_TOKEN, advertised upstream in
 * Surrogate-Capability (§2.1) so an origin can aim directives at it. One
 * aimed at this cache outranks the same one addressed to every surrogate.
 *
 * Against Cache-Control (the Note's caching model: Surrogate-Control first):
 * - `no-store`: never stored, whatever Cache-Control says;
 * - `max-age=N[+M]`: N seconds of freshness instead of s-maxage, max-age,
 *   Expires and no-cache, and storable despite Cache-Control no-store (the
 *   origin asks for "cached here, not in browsers"); M, the Note's extra
 *   window, is not used;
 * - `stale-while-revalidate`, `stale-if-error` (as CDNs read them) instead of
 *   Cache-Control's.
 * Cache-Control still decides who may get a response (private, §3.5
 * Authorization) and whether a stale one may be served (must-revalidate,
 * proxy-revalidate, s-maxage): Surrogate-Control extends how long this cache
 * reuses a response, never to whom. `no-store-remote` is for surrogates far
 * from the origin, which a gateway in front of its origin is not. The field
 * is forwarded downstream unchanged, so a CDN in front applies what is for it.
 */
import { deltaSeconds, type Directives } from "./directives.ts";
import { CACHE_NAME } from "./cache-status.ts";

/** This cache's device token: the name it signs Cache-Status with. */
export const DEVICE_TOKEN = CACHE_NAME;
/** The Surrogate-Capability member this cache adds to the requests it may store the answers of (§2.1). */
export const SURROGATE_CAPABILITY = `${DEVICE_TOKEN}="Surrogate/1.0"`;

const EMPTY: Directives = new Map();

/** The directives of a Surrogate-Control value that apply to the cache with device token `token`. */
export function surrogateDirectives(value: string | null, token: string = DEVICE_TOKEN): Directives {
  if (value === null || value.length === 0) return EMPTY;
  const everyone = new Map<string, string | true>();
  const mine = new Map<string, string | true>();
  for (const member of splitOutsideQuotes(value, ",")) {
    if (member.trim().length === 0) continue;
    const parts = splitOutsideQuotes(member, ";");
    const named = parts.length > 1 ? parts[parts.length - 1]!.trim().toLowerCase() : "";
    const target = named.length > 0 ? named : null;
    if (target !== null && target !== token) continue;
    const body = parts[0]!;
    const eq = body.indexOf("=");
    const name = (eq < 0 ? body : body.slice(0, eq)).trim().toLowerCase();
    if (name.length === 0) continue;
    let arg: string | true = true;
    if (eq >= 0) {
      arg = body.slice(eq + 1).trim();
      if (arg.length >= 2 && arg.startsWith('"') && arg.endsWith('"')) arg = arg.slice(1, -1).replace(/\\(.)/g, "$1");
    }
    const into = target === null ? everyone : mine;
    if (!into.has(name)) into.set(name, arg);
  }
  for (const [k, v] of mine) everyone.set(k, v);
  return everyone;
}

/** The freshness lifetime in seconds `max-age=N[+M]` gives (N), NaN when absent or invalid. */
export function surrogateMaxAge(sc: Directives): number {
  const arg = sc.get("max-age");
  if (typeof arg !== "string") return NaN;
  const plus = arg.indexOf("+");
  return deltaSeconds(plus < 0 ? arg : arg.slice(0, plus));
}

export function hasSurrogateMaxAge(sc: Directives): boolean {
  return !Number.isNaN(surrogateMaxAge(sc));
}

/** `value` split at `sep` where it is not inside a quoted-string. */
function splitOutsideQuotes(value: string, sep: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === "\\" && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (c === sep && !quoted) {
      out.push(value.slice(start, i));
      start = i + 1;
    }
  }
  out.push(value.slice(start));
  return out;
}
