/**
 * The route's Idempotency-Key policy (draft-ietf-httpapi-idempotency-key-
 * header): after the cache, before plugins and request transforms, so it
 * sees the client's request as sent and the upstream's answer before the
 * cache or compression touch it (it stores identity bodies; compression
 * applies to replays as to first answers).
 *
 * For a request of the route's `methods`:
 * - no key: 400 when `required`, else passed through untouched;
 * - malformed key (not an sf-string item, over 255 characters): 400;
 * - new key: the in-flight lock is taken atomically (memory arena or Redis),
 *   the request runs once, its body hashed as it streams upstream; the final
 *   response is stored for `ttl`. The lock is a lease of `lock_timeout`,
 *   renewed every half of it while the request runs (upstream retries, a slow
 *   body), so it lapses only when its owner is gone (a crashed instance);
 * - key in flight: 409 (Retry-After: 1), not executed; with `wait_in_flight`,
 *   the retry first waits up to that long for the first one's answer and is
 *   then answered as below (or, if the first ended without an answer and
 *   freed the key, runs itself);
 * - key done, same fingerprint (method, path, query, body digest): the stored
 *   response, byte for byte, with `Idempotent-Replayed: true`; different
 *   fingerprint: 422; done but too large to keep: 409, never run again.
 * Keys are scoped to the caller (scope.ts): one client never sees another's.
 *
 * What is stored: every response the upstream gave, 4xx and 5xx included.
 * Released (the client may retry): no answer at all (unreachable, timeout,
 * client gone before the answer, a gateway failure), or the request was
 * answered by a later policy (a plugin) without reaching the upstream.
 */
import { metricsRegistry, type BoundCounter } from "../../metrics/registry.ts";
import type { DoneRecord, FinalRecord, IdempotencyStore, TierBegin } from "../../idempotency/index.ts";
import { newToken, StoreUnavailable } from "../../idempotency/index.ts";
import type { RouteConfig } from "../../config/types.ts";
import { onCleanup, type RequestContext } from "../context.ts";
import { noteBody, type Policy } from "../types.ts";
import { describePolicy, inFlight, keyReused, malformedKey, missingKey, notReplayable, storeUnavailable } from "./answers.ts";
import { digestBody, digestBytes, digestRequest, fingerprint, hashingStream, scopedKey } from "./fingerprint.ts";
import { keyProblem, parseIdempotencyKey } from "./key.ts";
import type { IdempotencyRuntime } from "./runtime.ts";
import { callerScope } from "./scope.ts";

/** Per-response fields a replay must not repeat: hop-by-hop (RFC 9110 §7.6.1), framing (redone), the replay mark. */
const NOT_STORED = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "content-length", "idempotent-replayed"]);
/** Statuses whose responses have no content (RFC 9110 §15): replayed with a null body. */
const NO_CONTENT = new Set([204, 205, 304]);
/** Digest of a body the upstream did not read to its end: the record then matches on method, path and query. */
const UNKNOWN_BODY = "*";
/** How long an answered request waits for its body digest to finish (the upstream answered before reading it all). */
const DIGEST_WAIT_MS = 1000;
/** wait_in_flight: the first pause before looking at the key again, doubling up to the longest. */
const WAIT_FIRST_MS = 10;
const WAIT_LONGEST_MS = 200;

const RESULTS = ["new", "replayed", "mismatch", "in_flight", "not_replayable", "missing", "malformed", "unavailable", "no_key"] as const;
type Result = (typeof RESULTS)[number];
const OUTCOMES = ["stored", "unreplayable", "released", "lost"] as const;
type Outcome = (typeof OUTCOMES)[number];

/** One request holding a lock. */
interface Flight {
  readonly key: string;
  readonly token: string;
  readonly store: IdempotencyStore;
  /** Body digest: known, still streaming, or undefined when no upstream request was drafted. */
  digest: string | Promise<string | null> | undefined;
  /** An upstream request was drafted (the request reached the terminal). */
  sent: boolean;
  /** The exchange failed without an upstream answer. */
  failed: boolean;
  settled: boolean;
  /** The next renewal of the lock's lease, while the request runs. */
  renewal: ReturnType<typeof setTimeout> | null;
}

export function createIdempotencyPolicy(route: RouteConfig, rt: IdempotencyRuntime): Policy | null {
  const s = route.idempotency;
  if (s === null) return null;
  const methods = new Set(s.methods);
  const { ttl, lock_timeout: lockMs, required, wait_in_flight: waitMs } = s;
  const aggregate = route.aggregate.length > 0;
  const tiers = rt.tiers;
  const policyDoc = describePolicy(s, rt.maxResponse);
  const reg = metricsRegistry();
  const requests = reg.counter("gateway_idempotency_requests_total", "Requests of idempotency routes' methods, by what the policy did", ["route", "result"]);
  const records = reg.counter("gateway_idempotency_records_total", "Locks taken, by how they ended", ["route", "outcome"]);
  const count = Object.fromEntries(RESULTS.map((r) => [r, requests.labels([route.name, r])])) as Record<Result, BoundCounter>;
  const ended = Object.fromEntries(OUTCOMES.map((o) => [o, records.labels([route.name, o])])) as Record<Outcome, BoundCounter>;
  const flights = new WeakMap<RequestContext, Flight>();

  /** The flight has its outcome: no more renewals. */
  const settle = (f: Flight): void => {
    f.settled = true;
    if (f.renewal !== null) clearTimeout(f.renewal);
    f.renewal = null;
  };

  const release = (f: Flight): void => {
    settle(f);
    ended.released.inc();
    const r = tiers.release(f.store, f.key, f.token);
    if (r instanceof Promise) r.catch(() => {});
  };

  // Renew the lease at half its length, so a request that outlives lock_timeout (retries on other targets, a slow upstream) keeps its key.
  const renewLater = (f: Flight): void => {
    f.renewal = setTimeout(renew, lockMs / 2, f);
    f.renewal.unref?.();
  };
  const renew = (f: Flight): void => {
    f.renewal = null;
    if (f.settled) return;
    const r = tiers.extend(f.store, f.key, f.token, lockMs);
    if (r === true) renewLater(f);
    else if (r instanceof Promise) r.then((ok) => ok && !f.settled && renewLater(f));
  };

  const taken = (ctx: RequestContext, key: string, token: string, store: IdempotencyStore): undefined => {
    const f: Flight = { key, token, store, digest: undefined, sent: false, failed: false, settled: false, renewal: null };
    flights.set(ctx, f);
    renewLater(f);
    // Whatever ends the exchange without a stored answer (a hook that threw, a stale-if-error answer before us) frees the key.
    onCleanup(ctx, () => {
      if (!f.settled) release(f);
    });
    count.new.inc();
    return undefined;
  };

  /** Take the lock on `key` or read what holds it; StoreUnavailable (on_error = "deny") is the 503. */
  const begin = (ctx: RequestContext, key: string, token: string, then: (r: TierBegin) => Response | undefined | Promise<Response | undefined>) => {
    if (tiers.localOnly) return then(tiers.beginLocal(key, token, lockMs));
    return tiers.begin(key, token, lockMs).then(then, (e) => {
      if (!(e instanceof StoreUnavailable)) throw e;
      count.unavailable.inc();
      return storeUnavailable(ctx);
    });
  };

  const decide = (ctx: RequestContext, key: string, token: string, r: TierBegin, mayWait: boolean): Response | undefined | Promise<Response | undefined> => {
    if (r.taken) return taken(ctx, key, token, r.store);
    const rec = r.record;
    if (rec.state === "pending") {
      if (mayWait && waitMs > 0) return waitForFirst(ctx, key, token, performance.now() + waitMs, WAIT_FIRST_MS);
      count.in_flight.inc();
      return inFlight(ctx);
    }
    // A finished key: the retry must be the same request (draft §2.4); its body is hashed as it streams in, never kept.
    return digestRequest(ctx.req).then((digest) => {
      const fp = fingerprint(ctx.method, ctx.path, ctx.query, digest);
      if (rec.fp !== fp && rec.fp !== fingerprint(ctx.method, ctx.path, ctx.query, UNKNOWN_BODY)) {
        count.mismatch.inc();
        return keyReused(ctx);
      }
      if (rec.state === "unreplayable") {
        count.not_replayable.inc();
        return notReplayable(ctx, rec.status);
      }
      count.replayed.inc();
      return replay(rec);
    });
  };

  /**
   * wait_in_flight: look at the key again with growing pauses until the first
   * request has its answer (replayed, or 422 for another payload), the key is
   * free again (the first ended without an answer: this one takes the lock
   * and runs), or the wait is over (409). A client that leaves stops it.
   */
  const waitForFirst = async (ctx: RequestContext, key: string, token: string, deadline: number, pause: number): Promise<Response | undefined> => {
    const left = deadline - performance.now();
    if (left > 0 && !ctx.req.signal.aborted) {
      await Bun.sleep(Math.min(pause, left));
      return begin(ctx, key, token, (r) =>
        !r.taken && r.record.state === "pending" ? waitForFirst(ctx, key, token, deadline, Math.min(pause * 2, WAIT_LONGEST_MS)) : decide(ctx, key, token, r, false),
      );
    }
    count.in_flight.inc();
    return inFlight(ctx);
  };

  const finish = (ctx: RequestContext, f: Flight, res: Response, body: Uint8Array | null, digest: string | null): void | Promise<void> => {
    const fp = fingerprint(ctx.method, ctx.path, ctx.query, digest ?? UNKNOWN_BODY);
    let record: FinalRecord;
    if (res.body === null || body !== null) {
      const headers: [string, string][] = [];
      res.headers.forEach((value, name) => {
        if (!NOT_STORED.has(name) && name !== rt.requestIdHeader) headers.push([name, value]);
      });
      // Headers.forEach joins repeated fields but Set-Cookie, which it lists once per field (RFC 6265 §3).
      record = { state: "done", fp, status: res.status, headers, body: body ?? new Uint8Array(0) } satisfies DoneRecord;
    } else {
      // Larger than max_response_size: answered normally (it streams on), kept as "ran, not replayable".
      record = { state: "unreplayable", fp, status: res.status };
    }
    const stored = tiers.complete(f.store, f.key, f.token, record, ttl);
    if (stored instanceof Promise) return stored.then((r) => void counted(r), () => void ended.lost.inc());
    counted(stored);
  };

  const counted = (r: FinalRecord | null): void => {
    if (r === null) ended.lost.inc();
    else if (r.state === "done") ended.stored.inc();
    else ended.unreplayable.inc();
  };

  return {
    name: "idempotency",
    bufferResponse: rt.maxResponse,
    onRequest(ctx) {
      if (!methods.has(ctx.method)) return;
      const raw = ctx.req.headers.get("idempotency-key");
      if (raw === null) {
        if (required) {
          count.missing.inc();
          return missingKey(ctx, policyDoc);
        }
        count.no_key.inc();
        return;
      }
      const clientKey = parseIdempotencyKey(raw);
      if (clientKey === null) {
        count.malformed.inc();
        return malformedKey(ctx, keyProblem(raw));
      }
      const key = scopedKey(callerScope(ctx, rt.apiKeyHeader), clientKey);
      const token = newToken();
      return begin(ctx, key, token, (r) => decide(ctx, key, token, r, true));
    },
    onUpstreamRequest(ctx, draft) {
      const f = flights.get(ctx);
      if (f === undefined) return;
      f.sent = true;
      const body = draft.body;
      if (body instanceof ReadableStream) {
        const h = hashingStream(body);
        draft.body = h.stream;
        f.digest = h.digest;
      } else f.digest = digestBytes(body);
    },
    onError(ctx) {
      const f = flights.get(ctx);
      if (f !== undefined) f.failed = true;
    },
    onResponse(ctx, res, body) {
      const f = flights.get(ctx);
      if (f === undefined || f.settled) return;
      flights.delete(ctx);
      if (f.failed || (!f.sent && !aggregate)) return release(f);
      settle(f);
      const d = f.digest;
      if (d === undefined) {
        // An aggregate route drafts no upstream request from the client's: hash the client body here if nobody read it.
        if (ctx.req.bodyUsed) return finish(ctx, f, res, body, null);
        return digestBody(ctx.req.body).then((digest) => finish(ctx, f, res, body, digest));
      }
      if (typeof d === "string") return finish(ctx, f, res, body, d);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const bounded = Promise.race([d, new Promise<null>((resolve) => (timer = setTimeout(resolve, DIGEST_WAIT_MS, null)))]);
      return bounded.then((digest) => {
        clearTimeout(timer);
        return finish(ctx, f, res, body, digest);
      });
    },
  };
}

/** The stored response, as first sent (body bytes identical), marked as a replay. */
function replay(rec: DoneRecord): Response {
  const headers = new Headers();
  for (const [name, value] of rec.headers) headers.append(name, value);
  headers.set("idempotent-replayed", "true");
  if (NO_CONTENT.has(rec.status) || (rec.body.length === 0 && rec.status < 200)) return new Response(null, { status: rec.status, headers });
  return noteBody(new Response(rec.body, { status: rec.status, headers }), rec.body);
}
