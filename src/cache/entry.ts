/**
 * A stored response (RFC 9111 §3): its status, the header fields kept
 * (§3.1), the times age is computed from (§4.2.3) and what was derived from
 * its Cache-Control once, when stored or updated by a 304 (§4.3.4), so a hit
 * parses nothing.
 */
import { deltaSeconds, fieldNames, parseCacheControl } from "./directives.ts";
import { correctedInitialAge, freshnessLifetime } from "./freshness.ts";
import { hasSurrogateMaxAge, surrogateDirectives } from "./surrogate.ts";

/** What a route adds to the origin's directives. */
export interface CachePolicyOptions {
  /** ms; 0: none. Lifetime of cacheable responses without explicit expiration. */
  ttl: number;
  /** ms; 0: none. Used when the origin does not send stale-while-revalidate (RFC 5861 §3). */
  staleWhileRevalidate: number;
  /** ms; 0: none. Used when the origin does not send stale-if-error (RFC 5861 §4). */
  staleIfError: number;
}

export const FLAG_NO_CACHE = 1; // §5.2.2.4: revalidate on every use
export const FLAG_MUST_REVALIDATE = 2; // §5.2.2.2, proxy-revalidate §5.2.2.8, s-maxage §5.2.2.10: never served stale

export interface StoredEntry {
  status: number;
  /** Lower-case names, in the origin's order; never hop-by-hop, Set-Cookie or the other fields of EXCLUDED. */
  headers: [string, string][];
  /** When the response was received (ms). */
  responseTime: number;
  /** §4.2.3 corrected_initial_age (ms). */
  initialAge: number;
  /** Freshness lifetime (ms). */
  lifetime: number;
  flags: number;
  /** RFC 5861 windows (ms). */
  swr: number;
  sie: number;
  /** Lower-case field names of Vary, sorted; [] when the response does not vary. */
  vary: string[];
  /** Surrogate-Key / Cache-Tag values, for purge by tag. */
  tags: string[];
}

/**
 * Never stored (§3.1): hop-by-hop fields and the ones the Connection field
 * names, plus fields that describe this one exchange or a person rather than
 * the resource: Set-Cookie (never replayed to another client), RateLimit
 * fields (the counters of the client that filled the cache, not current),
 * and the fields this cache computes itself (Age, Cache-Status).
 */
const EXCLUDED: ReadonlySet<string> = new Set([
  "connection",
  "proxy-connection",
  "keep-alive",
  "te",
  "transfer-encoding",
  "upgrade",
  "trailer",
  "proxy-authenticate",
  "proxy-authentication-info",
  "proxy-authorization",
  "set-cookie",
  "set-cookie2",
  "ratelimit",
  "ratelimit-policy",
  "ratelimit-limit",
  "ratelimit-remaining",
  "ratelimit-reset",
  "x-ratelimit-limit",
  "x-ratelimit-remaining",
  "x-ratelimit-reset",
  "age",
  "cache-status",
]);

/** Fields of `headers` a cache may store: EXCLUDED, Connection-named and no-cache="x"-named ones removed. */
export function storableHeaders(headers: Iterable<[string, string]>, extraExcluded: readonly string[] = []): [string, string][] {
  const list: [string, string][] = [];
  let connection: string[] = [];
  for (const [k, v] of headers) {
    const name = k.toLowerCase();
    if (name === "connection") connection = v.split(",").map((s) => s.trim().toLowerCase());
    list.push([name, v]);
  }
  const drop = new Set([...connection, ...extraExcluded]);
  return list.filter(([name]) => !EXCLUDED.has(name) && !drop.has(name));
}

export function headerOf(entry: { headers: readonly [string, string][] }, name: string): string | null {
  let out: string | null = null;
  for (const [k, v] of entry.headers) if (k === name) out = out === null ? v : `${out}, ${v}`;
  return out;
}

/** Vary's field names, lower-case, sorted and unique; ["*"] when it holds `*` (never matches, §4.1). */
export function parseVary(value: string | null): string[] {
  if (value === null) return [];
  const names = new Set<string>();
  for (const part of value.split(",")) {
    const n = part.trim().toLowerCase();
    if (n === "*") return ["*"];
    if (n.length > 0) names.add(n);
  }
  return [...names].sort();
}

/**
 * The entry for a response received at `responseTime` to a request sent at
 * `requestTime`, with the route's options. Headers are the response's as
 * they will be stored (storableHeaders applied here).
 */
export function makeEntry(
  status: number,
  rawHeaders: Iterable<[string, string]>,
  requestTime: number,
  responseTime: number,
  opts: CachePolicyOptions,
): StoredEntry {
  const all = [...rawHeaders].map(([k, v]) => [k.toLowerCase(), v] as [string, string]);
  const cc = parseCacheControl(joined(all, "cache-control"));
  const noCacheFields = fieldNames(cc.get("no-cache"));
  const headers = storableHeaders(all, noCacheFields ?? []);
  const entry: StoredEntry = {
    status,
    headers,
    responseTime,
    initialAge: correctedInitialAge(joined(all, "date"), joined(all, "age"), requestTime, responseTime),
    lifetime: 0,
    flags: 0,
    swr: 0,
    sie: 0,
    vary: parseVary(joined(all, "vary")),
    tags: tagsOf(all),
  };
  derive(entry, opts);
  return entry;
}

/** Recompute what comes from the stored headers (after a 304 merged new ones, §4.3.4). */
export function derive(entry: StoredEntry, opts: CachePolicyOptions): void {
  const cc = parseCacheControl(headerOf(entry, "cache-control"));
  const sc = surrogateDirectives(headerOf(entry, "surrogate-control"));
  entry.lifetime = freshnessLifetime({
    status: entry.status,
    cc,
    date: headerOf(entry, "date"),
    expires: headerOf(entry, "expires"),
    lastModified: headerOf(entry, "last-modified"),
    responseTime: entry.responseTime,
    routeTtl: opts.ttl,
    surrogate: sc,
  }).ms;
  let flags = 0;
  // A qualified no-cache="x" only strips those fields (done in storableHeaders); the bare one revalidates always,
  // unless a Surrogate-Control max-age says how long this cache may reuse it (surrogate.ts).
  if (cc.get("no-cache") === true && !hasSurrogateMaxAge(sc)) flags |= FLAG_NO_CACHE;
  if (cc.has("must-revalidate") || cc.has("proxy-revalidate") || cc.has("s-maxage")) flags |= FLAG_MUST_REVALIDATE;
  entry.flags = flags;
  const swr = deltaSeconds(sc.get("stale-while-revalidate") ?? cc.get("stale-while-revalidate"));
  const sie = deltaSeconds(sc.get("stale-if-error") ?? cc.get("stale-if-error"));
  entry.swr = Number.isNaN(swr) ? opts.staleWhileRevalidate : swr * 1000;
  entry.sie = Number.isNaN(sie) ? opts.staleIfError : sie * 1000;
}

function joined(list: readonly [string, string][], name: string): string | null {
  return headerOf({ headers: list }, name);
}

function tagsOf(list: readonly [string, string][]): string[] {
  const out: string[] = [];
  for (const [k, v] of list) {
    if (k !== "surrogate-key" && k !== "cache-tag") continue;
    // Surrogate-Key is space-separated (Fastly), Cache-Tag comma-separated (Cloudflare): accept both.
    for (const t of v.split(/[\s,]+/)) if (t.length > 0 && !out.includes(t)) out.push(t);
  }
  return out;
}

/**
 * Fields a 304 never updates (§3.2): Content-Length, and the ones the stored
 * content itself depends on, which a response without content cannot
 * describe: its coding, its range, and its checksums (Content-MD5, RFC 1864;
 * Content-Digest, RFC 9530 §2, computed over a message's own content).
 */
const NOT_UPDATED: ReadonlySet<string> = new Set(["content-length", "content-encoding", "content-range", "content-md5", "content-digest"]);

/** §3.2 / §4.3.4: fields of a 304 replace the stored ones of the same name, except NOT_UPDATED and the excluded ones. */
export function mergeNotModified(entry: StoredEntry, fresh: Iterable<[string, string]>): void {
  const incoming = storableHeaders(fresh).filter(([k]) => !NOT_UPDATED.has(k));
  if (incoming.length === 0) return;
  const names = new Set(incoming.map(([k]) => k));
  entry.headers = [...entry.headers.filter(([k]) => !names.has(k)), ...incoming];
}
