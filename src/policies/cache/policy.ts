/**
 * The cache policy of one route: a thin adapter from the pipeline's hooks to
 * the engine (src/cache). Request side: look up, answer hits (and the
 * client's conditionals and byte ranges, only-if-cached), coalesce misses;
 * upstream side: conditional revalidation, Surrogate-Capability; response
 * side: store, merge 304s (§4.3.4),
 * stale-if-error, invalidation on unsafe methods (§4.4); log: metrics.
 *
 * With the Redis tier (`[cache] redis = true`, remote.ts) the arena is asked
 * first; on a miss (or a stale copy) the request that leads the fill asks
 * Redis, and an entry found there fills the arena and answers
 * (`Cache-Status: gateway; hit; …; detail=redis`). Stores, 304 updates and
 * invalidations are written to both.
 */
import { notModified, NOT_MODIFIED_FIELDS, selectedForUpdate } from "../../cache/conditional.ts";
import { forwardStatus, hitStatus, type Forward } from "../../cache/cache-status.ts";
import type { Coalescer } from "../../cache/coalesce.ts";
import { parseCacheControl } from "../../cache/directives.ts";
import { derive, headerOf, makeEntry, mergeNotModified, type CachePolicyOptions, type StoredEntry } from "../../cache/entry.ts";
import type { Found, HttpCache } from "../../cache/http-cache.ts";
import type { RemoteFound } from "../../cache/redis-tier.ts";
import { primaryKey, targetUri } from "../../cache/keys.ts";
import { byteRange, contentRange, ifRangeHolds } from "../../cache/range.ts";
import { evaluate, requestDirectives, usableOnError, type RequestDirectives } from "../../cache/select.ts";
import { notStorableReason } from "../../cache/storable.ts";
import { SURROGATE_CAPABILITY, surrogateDirectives } from "../../cache/surrogate.ts";
import type { BoundCounter } from "../../metrics/registry.ts";
import { onCleanup, type RequestContext } from "../context.ts";
import { noteBody, type Policy } from "../types.ts";
import { isRefresh, refreshInBackground } from "./refresh.ts";
import type { RemoteTier } from "./remote.ts";

export type Result = "hit" | "miss" | "stale" | "bypass" | "revalidated";

export interface CacheRuntime {
  cache: HttpCache;
  coalescer: Coalescer;
  scheme: "http" | "https";
  maxObject: number;
  now: () => number;
  counters(route: string): Record<Result, BoundCounter>;
  /** The Redis tier, with `[cache] redis = true`. */
  remote: RemoteTier | null;
}

/** Per request, between the hooks. */
interface State {
  result: Result;
  mode: "fill" | "revalidate" | "refresh" | "invalidate" | "pass";
  primary: string;
  uri: string;
  rd: RequestDirectives;
  requestTime: number;
  fwd: Forward;
  found: RemoteFound | null;
  /** The secondary key the arena's Vary marker gave on a vary-miss (the Redis tier looks there directly). */
  varyKey: string | null;
  /** The client's own conditionals, kept back from the origin on a fill (answered from the stored copy). */
  inm: string | null;
  ims: string | null;
  leader: boolean;
}

const SAFE = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);
const NO_CACHE_ENTRY = 504;

export function createCachePolicy(routeName: string, opts: CachePolicyOptions, rt: CacheRuntime): Policy {
  const states = new WeakMap<RequestContext, State>();
  const counters = rt.counters(routeName);
  const { cache, coalescer, remote } = rt;

  /** The stored response `e` (a Found from the lookup, with its header template and Blob once prepared, or an entry just stored or updated). */
  const respond = (ctx: RequestContext, s: State, e: StoredEntry, body: Uint8Array, status: string, age: number, found: Found | RemoteFound | null = null): Response => {
    const head = ctx.method === "HEAD";
    if ((s.inm !== null || s.ims !== null) && notModified(e, s.inm, s.ims)) {
      const h = new Headers();
      for (const [k, v] of e.headers) if (NOT_MODIFIED_FIELDS.includes(k)) h.append(k, v);
      h.set("age", String(Math.floor(age / 1000)));
      h.set("cache-status", status);
      return new Response(null, { status: 304, headers: h });
    }
    const range = head || e.status !== 200 ? null : byteRange(ctx.req.headers.get("range"), body.length);
    if (range !== null && ifRangeHolds(ctx.req.headers.get("if-range"), headerOf(e, "etag"), headerOf(e, "last-modified"), headerOf(e, "date"))) {
      // RFC 9110 §14: one range of the stored complete response, as a 206.
      const h = new Headers();
      const part = body.subarray(range.start, range.end + 1);
      for (const [k, v] of e.headers) if (k !== "content-length") h.append(k, v);
      h.set("content-length", String(part.length));
      h.set("content-range", contentRange(range, body.length));
      h.set("age", String(Math.floor(age / 1000)));
      h.set("cache-status", status);
      return noteBody(new Response(part, { status: 206, headers: h }), part);
    }
    let res: Response;
    const prepared = found !== null && "kind" in found ? (found as Found) : null;
    if (prepared !== null && prepared.headers !== null) {
      // The init's Headers are copied: the template stays as it is for the next hit.
      res = new Response(head ? null : prepared.blob, { status: e.status, headers: prepared.headers });
    } else {
      const h = new Headers();
      for (const [k, v] of e.headers) h.append(k, v);
      res = new Response(head || body.length === 0 ? null : body, { status: e.status, headers: h });
    }
    const h = res.headers;
    h.set("age", String(Math.floor(age / 1000)));
    h.set("cache-status", status);
    return head || body.length === 0 ? res : noteBody(res, body);
  };

  /**
   * A found entry answers now (fresh; stale within max-stale or
   * stale-while-revalidate), or is kept for revalidation with the origin
   * (undefined: s.found, mode "revalidate").
   */
  const answerFrom = (ctx: RequestContext, s: State, f: RemoteFound, collapsed: boolean, fromRedis: boolean): Response | undefined => {
    const v = evaluate(f.entry, rt.now(), s.rd);
    const extra = collapsed ? "; collapsed" : "";
    if (v.use === "fresh") {
      s.result = "hit";
      return respond(ctx, s, f.entry, f.body, hitStatus(v.ttl, fromRedis ? `${extra}; detail=redis` : extra), v.age, f);
    }
    if (v.use === "stale-ok" || v.use === "swr") {
      s.result = "stale";
      if (v.use === "swr") startRefresh(ctx, s.primary);
      return respond(ctx, s, f.entry, f.body, `${hitStatus(v.ttl, extra)}; detail=${v.use === "swr" ? "stale-while-revalidate" : "max-stale"}`, v.age, f);
    }
    s.found = f;
    s.fwd = s.rd.noCache ? "request" : "stale";
    s.mode = "revalidate";
    return undefined;
  };

  /** The arena's answer, if it has one. */
  const tryServe = (ctx: RequestContext, s: State, collapsed: boolean): Response | undefined => {
    const look = cache.lookup(s.primary, (n) => ctx.req.headers.get(n));
    if (look.kind === "found") return answerFrom(ctx, s, look, collapsed, false);
    s.fwd = look.kind;
    s.varyKey = look.kind === "vary-miss" ? look.key : null;
    return undefined;
  };

  /**
   * The Redis tier's answer, when the arena had none (or only a stale copy:
   * another instance may have refreshed it). A newer entry found there
   * fills the arena first, so this worker's next requests and the other
   * workers find it there.
   */
  const tryRemote = async (ctx: RequestContext, s: State): Promise<Response | undefined> => {
    const got = await remote!.tier.lookup(s.primary, (n) => ctx.req.headers.get(n), s.found === null ? s.varyKey : null);
    if (got === null || (s.found !== null && got.entry.responseTime <= s.found.entry.responseTime)) return undefined;
    cache.place(s.primary, got.key, got.entry, got.body, rt.now());
    return answerFrom(ctx, s, got, false, true);
  };

  /** Ask Redis when it can answer: usable, and the client did not ask for the origin's word (no-cache). */
  const remoteAsked = (s: State): boolean => remote !== null && !s.rd.noCache && remote.tier.available("lookup");

  /** Nothing in the arena answered: Redis, then only-if-cached's 504, HEAD's pass-through, or the origin (coalesced). */
  const afterArena = (ctx: RequestContext, s: State): Response | undefined | Promise<Response | undefined> => {
    const head = ctx.method === "HEAD";
    if (s.rd.onlyIfCached || head || s.rd.noStore) {
      const settle = (a: Response | undefined) => {
        if (a !== undefined) return a;
        if (s.rd.onlyIfCached) return onlyIfCached(ctx, s);
        s.mode = head ? "pass" : s.mode === "revalidate" ? "revalidate" : "fill";
        return undefined;
      };
      return remoteAsked(s) ? tryRemote(ctx, s).then(settle) : settle(undefined);
    }
    if (s.mode !== "revalidate") s.mode = "fill";
    const wait = coalescer.join(s.primary);
    if (wait === null) {
      lead(ctx, s);
      if (!remoteAsked(s)) return undefined;
      return tryRemote(ctx, s).then((a) => {
        // Served from Redis, and the arena has it now: the waiters need not wait for this response to end.
        if (a !== undefined && s.leader) (s.leader = false), coalescer.release(s.primary);
        return a;
      });
    }
    return wait.then(() => {
      const again = tryServe(ctx, s, true);
      if (again !== undefined) return again;
      if (s.mode !== "revalidate") s.mode = "fill";
      return undefined;
    });
  };

  const onlyIfCached = (ctx: RequestContext, s: State): Response => {
    s.result = "miss";
    s.mode = "pass";
    // §5.2.1.7: only-if-cached and nothing usable stored: 504.
    return new Response(JSON.stringify({ error: "not_cached", message: "only-if-cached: no stored response", request_id: ctx.requestId }), {
      status: NO_CACHE_ENTRY,
      headers: { "content-type": "application/json", "cache-status": forwardStatus(s.fwd, { detail: "only-if-cached" }) },
    });
  };

  /** Refreshes per key in flight in this worker; the store lock keeps it to one across workers (RFC 5861: once). */
  const refreshing = new Set<string>();
  const startRefresh = (ctx: RequestContext, key: string) => {
    if (refreshing.has(key) || !cache.tryLock(`swr\0${key}`, Math.max(1000, coalescer.lockTimeout))) return;
    refreshing.add(key);
    if (!refreshInBackground(ctx.req)) {
      refreshing.delete(key);
      cache.unlock(`swr\0${key}`);
    }
  };
  const endRefresh = (key: string) => {
    if (!refreshing.delete(key)) return;
    cache.unlock(`swr\0${key}`);
  };

  const begin = (ctx: RequestContext): State => {
    const uri = targetUri(rt.scheme, ctx.hostPort, ctx.path, ctx.query);
    const s: State = {
      result: "bypass",
      mode: "pass",
      primary: primaryKey(uri, routeName),
      uri,
      rd: requestDirectives(ctx.req.headers.get("cache-control"), ctx.req.headers.get("pragma")),
      requestTime: rt.now(),
      fwd: "bypass",
      found: null,
      varyKey: null,
      inm: ctx.req.headers.get("if-none-match"),
      ims: ctx.req.headers.get("if-modified-since"),
      leader: false,
    };
    states.set(ctx, s);
    return s;
  };

  const lead = (ctx: RequestContext, s: State) => {
    s.leader = true;
    onCleanup(ctx, () => {
      if (s.leader) (s.leader = false), coalescer.release(s.primary);
    });
  };

  return {
    name: "cache",
    bufferResponse: rt.maxObject,
    onRequest(ctx) {
      const method = ctx.method;
      const s = begin(ctx);
      if (method !== "GET" && method !== "HEAD") {
        if (!SAFE.has(method)) s.mode = "invalidate";
        return undefined;
      }
      if (isRefresh(ctx.req)) {
        const look = cache.lookup(s.primary, (n) => ctx.req.headers.get(n));
        if (look.kind === "found") s.found = look;
        s.mode = look.kind === "found" ? "refresh" : "fill";
        s.result = "revalidated";
        onCleanup(ctx, () => endRefresh(s.primary));
        return undefined;
      }
      s.result = "miss";
      return tryServe(ctx, s, false) ?? afterArena(ctx, s);
    },
    onUpstreamRequest(ctx, draft) {
      const s = states.get(ctx);
      if (s === undefined || (s.mode !== "fill" && s.mode !== "revalidate" && s.mode !== "refresh")) return;
      // The origin is asked for the full response; the client's own conditionals are answered from the stored copy.
      draft.removeHeader("if-none-match");
      draft.removeHeader("if-modified-since");
      // Edge Architecture §2.1: the origin may aim Surrogate-Control at this cache by its device token.
      draft.appendHeader("surrogate-capability", SURROGATE_CAPABILITY);
      if (s.found !== null && s.mode !== "fill") {
        // §4.3.1: revalidate with the stored validators.
        const etag = headerOf(s.found.entry, "etag");
        const lm = headerOf(s.found.entry, "last-modified");
        if (etag !== null) draft.setHeader("if-none-match", etag);
        if (lm !== null) draft.setHeader("if-modified-since", lm);
      }
    },
    onResponse(ctx, res, body) {
      const s = states.get(ctx);
      if (s === undefined) return;
      const status = res.status;
      if (s.mode === "invalidate") {
        if (status >= 200 && status < 400) invalidate(ctx, s, res);
        res.headers.set("cache-status", forwardStatus("bypass"));
        return;
      }
      if (s.mode === "pass") {
        if (!res.headers.has("cache-status")) res.headers.set("cache-status", forwardStatus(s.fwd, { status }));
        return;
      }
      const now = rt.now();
      if (s.found !== null && (s.mode === "revalidate" || s.mode === "refresh")) {
        if (status === 304) {
          // A copy: the found entry is shared with every other hit on its version in this worker (memo.ts).
          const e: StoredEntry = { ...s.found.entry };
          if (!selectedForUpdate(e, res.headers.get("etag"), res.headers.get("last-modified"))) {
            // §4.3.4: the 304 describes another response than the stored one, so it updates nothing; the stored
            // one answers (the validators it was asked with matched) and stays stale for the next request.
            s.result = "stale";
            const cs = forwardStatus("stale", { status: 304, detail: "validator-mismatch" });
            return respond(ctx, s, e, s.found.body, cs, evaluate(e, now, s.rd).age);
          }
          mergeNotModified(e, res.headers);
          // §4.3.4: the 304 refreshes the entry's age base too.
          e.responseTime = now;
          e.initialAge = 0;
          derive(e, opts);
          cache.update(s.found.key, e, s.found.body, now);
          remote?.store(s.primary, s.found.key, e, s.found.body, cache.keepFor(e, now));
          s.result = "revalidated";
          return respond(ctx, s, e, s.found.body, forwardStatus("stale", { status: 304 }), 0);
        }
        if (status >= 500 && usableOnError(s.found.entry, now, s.rd)) return serveOnError(ctx, s, status);
      }
      const reason = storableReason(ctx, s, res);
      if (reason !== null || (body === null && res.body !== null)) {
        res.headers.set("cache-status", forwardStatus(s.fwd, { status, detail: reason ?? "too-large" }));
        return;
      }
      const entry = makeEntry(status, res.headers, s.requestTime, now, opts);
      const bytes = body ?? new Uint8Array(0);
      const get = (n: string) => ctx.req.headers.get(n);
      const stored = entry.vary[0] !== "*" && cache.put(s.primary, get, entry, bytes, now);
      if (stored) remote?.store(s.primary, cache.keyFor(s.primary, get, entry), entry, bytes, cache.keepFor(entry, now));
      const cs = forwardStatus(s.fwd, { status, stored, ttlMs: stored ? entry.lifetime - entry.initialAge : undefined });
      if (stored && (s.inm !== null || s.ims !== null) && notModified(entry, s.inm, s.ims)) {
        return respond(ctx, s, entry, body ?? new Uint8Array(0), cs, entry.initialAge);
      }
      res.headers.set("cache-status", cs);
      return undefined;
    },
    onError(ctx) {
      const s = states.get(ctx);
      if (s === undefined || s.found === null) return;
      // RFC 5861 §4: the origin unreachable or timed out: the stale copy, within stale-if-error.
      if (!usableOnError(s.found.entry, rt.now(), s.rd)) return;
      return serveOnError(ctx, s, 0);
    },
    onLog(ctx, entry) {
      const s = states.get(ctx);
      if (s === undefined) return;
      entry.cache = s.result;
      counters[s.result].inc();
    },
  };

  function serveOnError(ctx: RequestContext, s: State, status: number): Response {
    const f = s.found!;
    const v = evaluate(f.entry, rt.now(), s.rd);
    s.result = "stale";
    const cs = `${forwardStatus("stale", status > 0 ? { status } : {})}; detail=stale-if-error`;
    return respond(ctx, s, f.entry, f.body, cs, v.age, f);
  }

  function storableReason(ctx: RequestContext, s: State, res: Response): string | null {
    if (ctx.method !== "GET") return "method";
    const h = res.headers;
    return notStorableReason({
      method: "GET",
      authorization: ctx.req.headers.has("authorization"),
      requestCC: parseCacheControl(ctx.req.headers.get("cache-control")),
      status: res.status,
      responseCC: parseCacheControl(h.get("cache-control")),
      hasExpires: h.has("expires"),
      routeTtl: opts.ttl > 0,
      surrogate: surrogateDirectives(h.get("surrogate-control")),
    });
  }

  /** §4.4: the target URI, and Location / Content-Location when they are on the same origin. */
  function invalidate(ctx: RequestContext, s: State, res: Response): void {
    cache.invalidate(s.uri);
    remote?.invalidate(s.uri);
    const origin = `${rt.scheme}://${ctx.hostPort.toLowerCase()}`;
    for (const name of ["location", "content-location"]) {
      const v = res.headers.get(name);
      if (v === null) continue;
      try {
        const u = new URL(v, s.uri);
        const same = `${origin}${u.pathname}${u.search}`;
        if (`${u.protocol}//${u.host}` === origin) cache.invalidate(same), remote?.invalidate(same);
      } catch {
        // not a URI: nothing to invalidate
      }
    }
  }
}
