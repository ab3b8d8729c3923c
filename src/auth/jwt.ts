import type { JwtIssuerConfig } from "../config/types.ts";
import { ConfigError, GatewayError } from "../errors.ts";
import type { Identity } from "./identity.ts";
import { verifySignature, keyFitsAlgorithm, type AlgorithmSpec } from "./algorithms.ts";
import { checkClaims } from "./claims.ts";
import { FAIL, type AuthFailure } from "./failures.ts";
import type { Grant, IdentityMapper } from "./identity.ts";
import { IssuerVerifier } from "./issuer.ts";
import type { JwksKeySource } from "./jwks.ts";
import type { VerifyKey } from "./keys.ts";
import { digestHi, digestLo, sha256, TABLE_JTI, type RevocationSet } from "./revocation.ts";
import { decodeJsonObject, decodeSegment, ownValue } from "./segments.ts";
import { TokenCache } from "./token-cache.ts";

/**
 * Recently decoded JOSE headers with their base64url text. An issuer signs
 * with a handful of distinct headers (alg, kid, typ), so uncached tokens
 * mostly skip a base64 + UTF-8 + JSON decode (~1.5 µs). Matched with
 * startsWith over a short list: no substring, no hashing. Bounded and
 * round-robin replaced, so attacker-chosen headers cannot grow it.
 */
const HEADER_MEMO_SIZE = 8;

/** Tokens without exp are cached this long at most (require_exp = false). */
const NO_EXP_CACHE_TTL = 60_000;

/** RFC 7515 §4.1.9 "typ" values we accept when present (RFC 7519 §5.1, RFC 9068 §2.1), lower-cased. */
const ACCEPTED_TYP = new Set(["jwt", "application/jwt", "at+jwt", "application/at+jwt"]);
const NESTED_CTY = new Set(["jwt", "application/jwt"]);

/** A verified token: its grant plus what the cache needs to re-validate a hit. */
class VerifiedToken implements Grant {
  readonly failed = false as const;
  referenced = false;
  constructor(
    readonly identity: Identity,
    readonly headers: readonly (readonly [string, string])[],
    readonly expiresAt: number,
    /** The key that verified it: retired by a JWKS refresh → the cache entry is dropped. */
    readonly key: VerifyKey,
    readonly hasJti: boolean,
    readonly jtiHi: number,
    readonly jtiLo: number,
  ) {}
}

export type TokenResult = Grant | AuthFailure;

/**
 * Bearer-token authentication over every configured issuer.
 *
 * Order of checks (cheap and context-free first):
 *  1. length ≤ the largest max_token_size, before any parsing;
 *  2. the verified-token cache (a hit re-checks expiry, revocation of its jti
 *     and that its key was not retired, then returns synchronously);
 *  3. three segments, strict base64url, JSON objects without duplicate
 *     members (RFC 7515 §5.2); a nested JWT (cty JWT) is refused here;
 *  4. issuer chosen by the unverified `iss` (only to pick keys and rules:
 *     nothing is trusted until the signature verifies), then that issuer's
 *     max_token_size;
 *  5. header: alg in the issuer's allowlist (exact, case-sensitive: "none"
 *     in any casing is never in it), no `crit` (we implement no extension,
 *     RFC 7515 §4.1.11), no `b64` (RFC 7797), `typ` if present is JWT or
 *     at+jwt (RFC 8725 §3.11), `cty` a string, `kid` a string.
 *     `jku`, `x5u`, `jwk` and `x5c` are ignored: keys never come from the
 *     token (RFC 8725 §3.10);
 *  6. key by (kid, alg) — a JWKS miss may refetch (cooldown-limited), the only
 *     asynchronous step; signature; claims (RFC 7519 §4.1); jti revocation.
 */
export class JwtAuthenticator {
  private readonly cache: TokenCache<VerifiedToken>;
  private readonly headerTexts: string[] = [];
  private readonly headerValues: Record<string, unknown>[] = [];
  private headerNext = 0;
  private readonly byIssuer = new Map<string, IssuerVerifier>();
  private readonly anyIssuer: IssuerVerifier | null;
  private readonly issuers: readonly IssuerVerifier[];
  /** Largest max_token_size over the issuers: the pre-parse bound. */
  readonly maxTokenSize: number;

  constructor(
    configs: readonly JwtIssuerConfig[],
    cacheSize: number,
    private readonly revocation: RevocationSet,
    private readonly mapper: IdentityMapper,
    private readonly now: () => number,
  ) {
    const problems: string[] = [];
    const issuers: IssuerVerifier[] = [];
    configs.forEach((cfg, i) => {
      const compiled = IssuerVerifier.compile(cfg, i, now);
      if (Array.isArray(compiled)) problems.push(...compiled);
      else issuers.push(compiled);
    });
    if (configs.length > 1) {
      configs.forEach((cfg, i) => {
        if (cfg.issuer === null) problems.push(`jwt[${i}].issuer: required when several [[jwt]] issuers are configured`);
        else if (configs.findIndex((c) => c.issuer === cfg.issuer) !== i) problems.push(`jwt[${i}].issuer: "${cfg.issuer}" is configured twice`);
      });
    }
    if (problems.length > 0) throw new ConfigError(problems);
    this.issuers = issuers;
    this.anyIssuer = issuers.length === 1 && issuers[0]!.issuer === null ? issuers[0]! : null;
    for (const v of issuers) if (v.issuer !== null) this.byIssuer.set(v.issuer, v);
    this.maxTokenSize = Math.max(0, ...issuers.map((v) => v.maxTokenSize));
    this.cache = new TokenCache(cacheSize);
  }

  /** Start JWKS first fetches and background refreshes. */
  start(): void {
    for (const v of this.issuers) v.jwks?.start();
  }

  /** Resolves once every JWKS first fetch has finished (successfully or not). */
  async ready(): Promise<void> {
    await Promise.all(this.issuers.map((v) => v.jwks?.settled()));
  }

  close(): void {
    for (const v of this.issuers) v.jwks?.close();
    this.cache.clear();
  }

  get cacheSize(): number {
    return this.cache.size;
  }

  /** JWKS sources by issuer index, for metrics and tests. */
  get jwksSources(): readonly (JwksKeySource | null)[] {
    return this.issuers.map((v) => v.jwks);
  }

  /**
   * Verify a bearer token. Synchronous unless a JWKS fetch must be awaited.
   * Throws (or rejects with) GatewayError 503 only when the issuer's keys have
   * never been obtained: that is the gateway's problem, not the client's.
   */
  authenticate(token: string): TokenResult | Promise<TokenResult> {
    if (token.length > this.maxTokenSize) return FAIL.tooLarge;
    const now = this.now();
    const hit = this.cache.get(token, now);
    if (hit !== undefined) {
      if (hit.hasJti && this.revocation.has(TABLE_JTI, hit.jtiHi, hit.jtiLo)) return FAIL.revoked;
      if (!hit.key.retired) return hit;
      this.cache.delete(token);
    }
    return this.verify(token, now);
  }

  private verify(token: string, now: number): TokenResult | Promise<TokenResult> {
    const dot1 = token.indexOf(".");
    const dot2 = dot1 < 0 ? -1 : token.indexOf(".", dot1 + 1);
    if (dot1 <= 0 || dot2 < 0) return FAIL.malformed;
    if (token.indexOf(".", dot2 + 1) >= 0) return countDots(token) === 4 ? FAIL.encrypted : FAIL.malformed;

    const header = this.decodeHeader(token, dot1);
    if (header === null) return FAIL.malformed;
    // RFC 7519 §5.2: cty "JWT" marks a nested JWT, whose payload is not JSON. We never unwrap one.
    const cty = ownValue(header, "cty");
    if (cty !== undefined) {
      if (typeof cty !== "string") return FAIL.malformed;
      if (NESTED_CTY.has(cty.toLowerCase())) return FAIL.nested;
    }
    const payload = decodeJsonObject(token, dot1 + 1, dot2);
    if (payload === null) return FAIL.malformed;

    const issuer = this.selectIssuer(payload);
    if (issuer === undefined) return FAIL.unknownIssuer;
    if (token.length > issuer.maxTokenSize) return FAIL.tooLarge;

    const algName = ownValue(header, "alg");
    if (typeof algName !== "string") return FAIL.malformed;
    const alg = issuer.algorithm(algName);
    if (alg === undefined) return FAIL.algorithm;
    if (Object.hasOwn(header, "crit")) return FAIL.crit;
    if (Object.hasOwn(header, "b64")) return FAIL.malformed;
    const typ = ownValue(header, "typ");
    if (typ !== undefined && (typeof typ !== "string" || !ACCEPTED_TYP.has(typ.toLowerCase()))) return FAIL.typ;
    const kid = ownValue(header, "kid");
    if (kid !== undefined && typeof kid !== "string") return FAIL.malformed;

    const signature = decodeSegment(token, dot2 + 1, token.length);
    if (signature === null) return FAIL.malformed;

    const key = issuer.findKey(kid ?? null, alg);
    if (key !== undefined) return this.finish(token, dot2, issuer, alg, key, payload, signature, now);

    const jwks = issuer.jwks;
    if (jwks === null) return FAIL.noKey;
    if (jwks.mayRefetch()) {
      return jwks.refetch().then(() => {
        const fetched = issuer.findKey(kid ?? null, alg);
        if (fetched !== undefined) return this.finish(token, dot2, issuer, alg, fetched, payload, signature, this.now());
        if (!jwks.hasKeys) throw keysUnavailable(jwks.lastError);
        return FAIL.noKey;
      });
    }
    if (!jwks.hasKeys) throw keysUnavailable(jwks.lastError);
    return FAIL.noKey;
  }

  /** The header segment token[0, dot1) decoded, from the memo when seen recently. Read-only. */
  private decodeHeader(token: string, dot1: number): Record<string, unknown> | null {
    const texts = this.headerTexts;
    for (let i = 0; i < texts.length; i++) {
      const text = texts[i]!;
      if (text.length === dot1 && token.startsWith(text)) return this.headerValues[i]!;
    }
    const header = decodeJsonObject(token, 0, dot1);
    if (header === null) return null;
    const slot = this.headerNext;
    this.headerNext = (slot + 1) % HEADER_MEMO_SIZE;
    texts[slot] = token.slice(0, dot1);
    this.headerValues[slot] = header;
    return header;
  }

  private selectIssuer(payload: Record<string, unknown>): IssuerVerifier | undefined {
    if (this.anyIssuer !== null) return this.anyIssuer;
    const iss = ownValue(payload, "iss");
    return typeof iss === "string" ? this.byIssuer.get(iss) : undefined;
  }

  private finish(
    token: string,
    dot2: number,
    issuer: IssuerVerifier,
    alg: AlgorithmSpec,
    key: VerifyKey,
    payload: Record<string, unknown>,
    signature: Uint8Array,
    now: number,
  ): TokenResult {
    if (!keyFitsAlgorithm(alg, key)) return FAIL.algorithm;
    if (!verifySignature(alg, key, token.slice(0, dot2), signature)) return FAIL.signature;
    const bad = checkClaims(payload, issuer.rules, now);
    if (bad !== null) return bad;

    const jti = ownValue(payload, "jti");
    let hi = 0;
    let lo = 0;
    if (typeof jti === "string") {
      const d = sha256(jti);
      hi = digestHi(d);
      lo = digestLo(d);
      if (this.revocation.has(TABLE_JTI, hi, lo)) return FAIL.revoked;
    }
    const grant = this.mapper.fromClaims(payload, issuer.claimNames);
    const exp = ownValue(payload, "exp");
    // Never past exp: a cached entry must not outlive the token.
    const expiresAt = typeof exp === "number" ? exp * 1000 : now + NO_EXP_CACHE_TTL;
    const verified = new VerifiedToken(grant.identity, grant.headers, expiresAt, key, typeof jti === "string", hi, lo);
    if (expiresAt > now) this.cache.set(token, verified);
    return verified;
  }
}

function countDots(s: string): number {
  let n = 0;
  for (let i = s.indexOf("."); i >= 0; i = s.indexOf(".", i + 1)) n++;
  return n;
}

function keysUnavailable(why: string | null): GatewayError {
  return new GatewayError("service_unavailable", 503, "signing keys for this token's issuer are unavailable", {
    source: "upstream",
    cause: why ?? undefined,
  });
}
