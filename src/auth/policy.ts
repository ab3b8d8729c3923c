import type { RouteConfig } from "../config/types.ts";
import { ConfigError } from "../errors.ts";
import { addUpstreamHeader, type RequestContext } from "../pipeline/context.ts";
import type { Policy } from "../pipeline/policy.ts";
import { queryParam } from "./api-keys.ts";
import { RouteAccess } from "./authorize.ts";
import type { AuthFailure } from "./failures.ts";
import type { Grant } from "./identity.ts";
import type { TokenResult } from "./jwt.ts";
import {
  apiKeyChallenge,
  BEARER_CHALLENGE,
  bearerErrorChallenge,
  forbidden,
  invalidCredential,
  unauthorized,
} from "./responses.ts";
import type { AuthRuntime } from "./runtime.ts";

type Mode = "jwt" | "api_key" | "any";

/**
 * The route's access policy: authenticate (JWT and/or API key), authorize
 * (roles, scopes, method_roles), then set ctx.identity and the identity
 * headers for the upstream.
 *
 * - auth = "none" with no roles/scopes/method_roles → null (nothing compiled).
 * - auth = "none" WITH rules → behaves as "any": rules need a caller, and
 *   failing closed beats silently ignoring them.
 * - "any": a Bearer Authorization header decides alone (an invalid token is a
 *   401, never a fall-through to the API key); without one, the API key
 *   decides; with neither, 401 with both challenges.
 *
 * Synchronous whenever the token is cached or needs no key fetch; a Promise
 * only while a JWKS fetch is awaited.
 */
export function createAuthPolicy(route: RouteConfig, runtime: AuthRuntime): Policy | null {
  const access = new RouteAccess(route);
  if (route.auth === "none" && access.open) return null;
  const mode: Mode = route.auth === "none" ? "any" : route.auth;
  if (mode === "jwt" && runtime.jwt === null) {
    throw new ConfigError([`routes.${route.name}.auth: "jwt" needs at least one [jwt] issuer`]);
  }
  return new AuthPolicy(mode, runtime, access);
}

class AuthPolicy implements Policy {
  readonly name = "auth";
  private readonly acceptsToken: boolean;
  private readonly acceptsKey: boolean;
  private readonly keyChallenge: string;
  private readonly missingChallenges: readonly string[];

  constructor(
    mode: Mode,
    private readonly runtime: AuthRuntime,
    private readonly access: RouteAccess,
  ) {
    this.acceptsToken = mode !== "api_key" && runtime.jwt !== null;
    this.acceptsKey = mode !== "jwt";
    this.keyChallenge = apiKeyChallenge(runtime.apiKeyHeader, runtime.apiKeyQuery);
    this.missingChallenges = Object.freeze([
      ...(this.acceptsToken ? [BEARER_CHALLENGE] : []),
      ...(this.acceptsKey ? [this.keyChallenge] : []),
    ]);
  }

  /** An arrow property, so the runner may call it detached from the object. */
  readonly onRequest = (ctx: RequestContext): Response | undefined | Promise<Response | undefined> => {
    if (this.acceptsToken) {
      const header = ctx.req.headers.get("authorization");
      const token = header === null ? null : bearerToken(header);
      if (token !== null) {
        const result = this.runtime.jwt!.authenticate(token);
        if (result instanceof Promise) return result.then((r) => this.admitToken(ctx, r));
        return this.admitToken(ctx, result);
      }
    }
    if (this.acceptsKey) {
      const rt = this.runtime;
      let key = ctx.req.headers.get(rt.apiKeyHeader);
      if (key === null && rt.apiKeyQuery !== null) key = queryParam(ctx.query, rt.apiKeyQuery);
      if (key !== null) {
        const result = rt.apiKeys.authenticate(key);
        if (result.failed) return invalidCredential(ctx, "invalid_api_key", result.reason, this.keyChallenge);
        return this.admit(ctx, result);
      }
    }
    return unauthorized(ctx, this.missingChallenges);
  };

  private admitToken(ctx: RequestContext, result: TokenResult): Response | undefined {
    if (result.failed) return this.refuseToken(ctx, result);
    return this.admit(ctx, result);
  }

  private refuseToken(ctx: RequestContext, failure: AuthFailure): Response {
    return invalidCredential(ctx, "invalid_token", failure.reason, bearerErrorChallenge("invalid_token", failure.reason));
  }

  private admit(ctx: RequestContext, grant: Grant): Response | undefined {
    const identity = grant.identity;
    // Set even when refused below, so the access log says who was refused.
    ctx.identity = identity;
    if (!this.access.open) {
      const denial = this.access.check(ctx.method, identity);
      if (denial !== null) return forbidden(ctx, denial.message, identity.via === "jwt" ? denial.bearerChallenge : null);
    }
    const headers = grant.headers;
    for (let i = 0; i < headers.length; i++) addUpstreamHeader(ctx, headers[i]![0], headers[i]![1]);
    return undefined;
  }
}

/**
 * The b64token of an `Authorization: Bearer <token>` value (RFC 6750 §2.1;
 * the scheme name is case-insensitive, RFC 9110 §11.1), or null when the
 * header uses another scheme. "" when the scheme has no token.
 */
export function bearerToken(value: string): string | null {
  const len = value.length;
  if (
    len < 7 ||
    (value.charCodeAt(0) | 0x20) !== 98 || // b
    (value.charCodeAt(1) | 0x20) !== 101 || // e
    (value.charCodeAt(2) | 0x20) !== 97 || // a
    (value.charCodeAt(3) | 0x20) !== 114 || // r
    (value.charCodeAt(4) | 0x20) !== 101 || // e
    (value.charCodeAt(5) | 0x20) !== 114 || // r
    value.charCodeAt(6) !== 32
  ) return null;
  let start = 7;
  while (start < len && value.charCodeAt(start) === 32) start++;
  let end = len;
  while (end > start && (value.charCodeAt(end - 1) === 32 || value.charCodeAt(end - 1) === 9)) end--;
  return value.slice(start, end);
}
