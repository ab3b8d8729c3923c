import { FAIL, type AuthFailure } from "./failures.ts";
import { ownValue } from "./segments.ts";

/** What an issuer requires of a token's claims (RFC 7519 §4.1), compiled from JwtIssuerConfig. */
export interface ClaimRules {
  /** Required `iss`; null = not checked (a single issuer that accepts any). */
  readonly issuer: string | null;
  /** Accepted `aud` values, any-of; empty = not checked. */
  readonly audience: readonly string[];
  /** ms of tolerance on exp and nbf. */
  readonly clockSkew: number;
  readonly requireExp: boolean;
}

/**
 * Check registered claims of an already signature-verified payload.
 * Returns null when the claims are acceptable at `nowMs`.
 */
export function checkClaims(claims: Record<string, unknown>, rules: ClaimRules, nowMs: number): AuthFailure | null {
  const iss = ownValue(claims, "iss");
  if (iss !== undefined && typeof iss !== "string") return FAIL.badClaim;
  if (rules.issuer !== null && iss !== rules.issuer) return FAIL.issuer;

  const sub = ownValue(claims, "sub");
  if (sub !== undefined && typeof sub !== "string") return FAIL.badClaim;
  const jti = ownValue(claims, "jti");
  if (jti !== undefined && typeof jti !== "string") return FAIL.badClaim;

  // §4.1.3: "aud" is a string or an array of strings, checked even when the
  // issuer configures no audience; with one, a value must name us.
  const aud = ownValue(claims, "aud");
  if (typeof aud === "string") {
    if (rules.audience.length > 0 && !rules.audience.includes(aud)) return FAIL.audience;
  } else if (Array.isArray(aud)) {
    let match = false;
    for (const a of aud) {
      if (typeof a !== "string") return FAIL.badClaim;
      if (rules.audience.includes(a)) match = true;
    }
    if (rules.audience.length > 0 && !match) return FAIL.audience;
  } else if (aud !== undefined) {
    return FAIL.badClaim;
  } else if (rules.audience.length > 0) {
    return FAIL.audience;
  }

  // §4.1.4: valid only while now is before exp (plus the allowed skew).
  const exp = ownValue(claims, "exp");
  if (exp !== undefined) {
    if (typeof exp !== "number" || !Number.isFinite(exp)) return FAIL.badClaim;
    if (nowMs >= exp * 1000 + rules.clockSkew) return FAIL.expired;
  } else if (rules.requireExp) {
    return FAIL.missingExp;
  }

  // §4.1.5: valid only once now is at or after nbf (minus the allowed skew).
  const nbf = ownValue(claims, "nbf");
  if (nbf !== undefined) {
    if (typeof nbf !== "number" || !Number.isFinite(nbf)) return FAIL.badClaim;
    if (nowMs + rules.clockSkew < nbf * 1000) return FAIL.notYetValid;
  }

  const iat = ownValue(claims, "iat");
  if (iat !== undefined && (typeof iat !== "number" || !Number.isFinite(iat))) return FAIL.badClaim;
  return null;
}
