import { controlEvent } from "../metrics/events.ts";
import { importJwk, type JwkEntry, type VerifyKey } from "./keys.ts";

export interface JwksSourceOptions {
  url: string;
  /** The issuer's allowlist; keys whose "alg" is outside it are skipped. */
  algorithms: readonly string[];
  /** ms: an unknown kid refetches at most this often. */
  cooldown: number;
  /** ms: background refresh period; 0 disables it. */
  refresh: number;
  now: () => number;
  /** ms per fetch; default 5 s. */
  fetchTimeout?: number;
  /** Largest JWKS body accepted; default 1 MiB. */
  maxBytes?: number;
}

/**
 * A remote JWK Set (RFC 7517 §5), fetched and cached per worker.
 *
 * - Reads (`find`) are synchronous lookups in the last good set.
 * - An unknown kid may refetch, but at most once per `cooldown` (measured
 *   from the last fetch attempt, whatever started it), and concurrent callers
 *   share one in-flight fetch: a flood of made-up kids costs the issuer at
 *   most one request per cooldown.
 * - A failed fetch, a non-200, a bad body or a set with no usable key leaves
 *   the last good set in place: while the issuer is down we keep verifying
 *   with the keys we have.
 * - A key that a successful refresh no longer lists is marked retired, so
 *   tokens cached under it are verified again (and fail) instead of being
 *   served from the cache until their exp.
 */
export class JwksKeySource {
  private readonly opts: Required<JwksSourceOptions>;
  private byKid = new Map<string, JwkEntry[]>();
  private entries: JwkEntry[] = [];
  /** Same key material across refreshes keeps the same entry (so it is not retired). */
  private byFingerprint = new Map<string, JwkEntry>();
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private inFlight: Promise<void> | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  /** Fetches started, for metrics and tests. */
  fetches = 0;
  /** Why the last fetch failed; null after a success. Never contains key material. */
  lastError: string | null = null;

  constructor(opts: JwksSourceOptions) {
    this.opts = { fetchTimeout: 5000, maxBytes: 1 << 20, ...opts };
  }

  /** First fetch now (not awaited: requests that need keys await it), then the background refresh. */
  start(): void {
    void this.refetch();
    if (this.opts.refresh > 0 && this.timer === null) {
      this.timer = setInterval(() => void this.refetch(), this.opts.refresh);
      (this.timer as { unref?: () => void }).unref?.();
    }
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  get hasKeys(): boolean {
    return this.entries.length > 0;
  }

  /**
   * The key for (kid, alg), or undefined. Without a kid, the one key that can
   * verify alg; several candidates are refused rather than tried in turn (each
   * try would cost a signature check).
   */
  find(kid: string | null, alg: string): VerifyKey | undefined {
    if (kid !== null) {
      const list = this.byKid.get(kid);
      if (list === undefined) return undefined;
      for (let i = 0; i < list.length; i++) if (list[i]!.algorithms.includes(alg)) return list[i]!.key;
      return undefined;
    }
    let found: VerifyKey | undefined;
    for (const e of this.entries) {
      if (!e.algorithms.includes(alg)) continue;
      if (found !== undefined) return undefined;
      found = e.key;
    }
    return found;
  }

  /** Resolves when no fetch is running (the current one, if any, has finished). Never rejects. */
  settled(): Promise<void> {
    return this.inFlight ?? Promise.resolve();
  }

  /** Whether a fetch is running or the cooldown since the last attempt has passed. */
  mayRefetch(): boolean {
    return this.inFlight !== null || this.opts.now() - this.lastAttempt >= this.opts.cooldown;
  }

  /** Fetch now, or join the fetch already running. Never rejects. */
  refetch(): Promise<void> {
    if (this.inFlight !== null) return this.inFlight;
    this.lastAttempt = this.opts.now();
    this.fetches++;
    const before = this.lastError;
    this.inFlight = this.load().finally(() => {
      this.inFlight = null;
      // An operator sees the first failure and the recovery, not every failed refresh in between.
      if (this.lastError !== null && before === null) {
        controlEvent("jwks_refresh_failed", "error", { msg: "JWKS refresh failed", url: this.opts.url, error: this.lastError, keys_kept: this.entries.length });
      } else if (this.lastError === null && before !== null) {
        controlEvent("jwks_recovered", "info", { msg: "JWKS fetched again", url: this.opts.url, keys: this.entries.length });
      }
    });
    return this.inFlight;
  }

  private async load(): Promise<void> {
    let text: string;
    try {
      const res = await fetch(this.opts.url, {
        headers: { accept: "application/json" },
        signal: AbortSignal.timeout(this.opts.fetchTimeout),
        redirect: "error",
      });
      if (res.status !== 200) {
        void res.body?.cancel();
        this.lastError = `JWKS fetch returned ${res.status}`;
        return;
      }
      const body = await readCapped(res, this.opts.maxBytes);
      if (body === null) {
        this.lastError = `JWKS body exceeds ${this.opts.maxBytes} bytes`;
        return;
      }
      text = body;
    } catch (err) {
      this.lastError = `JWKS fetch failed: ${(err as Error).name}`;
      return;
    }
    this.install(text);
  }

  private install(text: string): void {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      this.lastError = "JWKS is not JSON";
      return;
    }
    const keys = (doc as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(keys)) {
      this.lastError = 'JWKS has no "keys" array';
      return;
    }
    const entries: JwkEntry[] = [];
    const byFingerprint = new Map<string, JwkEntry>();
    for (const jwk of keys) {
      const print = fingerprint(jwk);
      const entry = this.byFingerprint.get(print) ?? importJwk(jwk, this.opts.algorithms);
      if (entry === null || byFingerprint.has(print)) continue;
      entries.push(entry);
      byFingerprint.set(print, entry);
    }
    if (entries.length === 0) {
      this.lastError = "JWKS has no usable signing key";
      return;
    }
    const byKid = new Map<string, JwkEntry[]>();
    for (const e of entries) if (e.kid !== null) (byKid.get(e.kid) ?? byKid.set(e.kid, []).get(e.kid)!).push(e);
    for (const [print, old] of this.byFingerprint) if (!byFingerprint.has(print)) old.key.retired = true;
    // Swap, don't mutate: a lookup running now sees the old set or the new one.
    this.entries = entries;
    this.byKid = byKid;
    this.byFingerprint = byFingerprint;
    this.lastError = null;
  }
}

/** The members that decide what a key verifies; equal prints mean the same usable key. */
function fingerprint(jwk: unknown): string {
  if (typeof jwk !== "object" || jwk === null) return "";
  const k = jwk as Record<string, unknown>;
  return JSON.stringify([k.kid, k.alg, k.use, k.key_ops, k.kty, k.crv, k.n, k.e, k.x, k.y]);
}

async function readCapped(res: Response, max: number): Promise<string | null> {
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > max) {
    void res.body?.cancel();
    return null;
  }
  if (res.body === null) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.byteLength;
    // Leaving the loop early cancels the stream (the iterator's return()).
    if (size > max) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
