import type { RouteConfig } from "../../config/types.ts";
import { ConfigError } from "../../errors.ts";
import { addUpstreamHeader, type RequestContext } from "../context.ts";
import type { Policy } from "../types.ts";
import { queryParam } from "../../auth/api-keys.ts";
import { RouteAccess } from "../../auth/authorize.ts";
import { hasQueryToken, isToken68, bearerToken, MALFORMED_BEARER } from "../../auth/bearer.ts";
import { FAIL, type AuthFailure } from "../../auth/failures.ts";
import type { Grant } from "../../auth/identity.ts";
import type { TokenResult } from "../../auth/jwt.ts";
import {
  apiKeyChallenge,
  badRequest,
  BEARER_CHALLENGE,
  bearerErrorChallenge,
  forbidden,
  invalidCredential,
  unauthorized,
} from "../../auth/responses.ts";
import type { AuthRuntime } from "../../auth/runtime.ts";
import { metricsRegistry, type BoundCounter, type Counter } from "../../metrics/registry.ts";

/** Metric label per refusal: its fixed phrase as a slug ("token_expired", "invalid_api_key"), plus "missing" and "forbidden". */
const REASONS = new Map<AuthFailure | string, string>(
  Object.values(FAIL).map((f) => [f, f.reason.toLowerCase().replace(/[^a-z0-9]+/g, "_")]),
);

type Mode = "jwt" | "api_key" | "any";

/**
 * The route's access policy: authenticate (JWT and/or API key), authorize
 * (roles, scopes, method_roles), then set ctx.identity and the identity
 * headers for the upstream.
 *
 * - auth = "none" with no roles/scopes/method_roles → null (nothing compiled).
 * - auth = "none" WITH rules → behaves as "any": rules need a caller, and
 *   failing closed beats silently ignoring them.
 * - "any": a Bearer token is tried first and decides the identity; an invalid
 *   token is a 401, never a fall-through to the API key. An API key sent
 *   along with a valid token must be valid too (a present credential that
 *   fails is always a 401, whatever else came with it). Without a token the
 *   API key decides; with neither, 401 with both challenges.
 * - A Bearer header that is not `Bearer 1*SP b64token`, or a token in both
 *   the header and an `access_token` query parameter, is 400 invalid_request
 *   (RFC 6750 §3.1).
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
  const family = metricsRegistry().counter("gateway_auth_failures_total", "Requests refused by authentication or authorization, by route and reason", ["route", "reason"]);
  return new AuthPolicy(mode, runtime, access, new FailureCounts(family, route.name));
}

/** gateway_auth_failures_total series of one route, bound on a reason's first refusal (refusals are off the hot path). */
class FailureCounts {
  readonly #bound = new Map<AuthFailure | string, BoundCounter>();
  constructor(
    private readonly family: Counter,
    private readonly route: string,
  ) {}
  count(why: AuthFailure | "missing" | "forbidden"): void {
    let c = this.#bound.get(why);
    if (c === undefined) {
      const reason = typeof why === "string" ? why : (REASONS.get(why) ?? "other");
      this.#bound.set(why, (c = this.family.labels([this.route, reason])));
    }
    c.inc();
  }
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
    private readonly failures: FailureCounts,
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
      if (token === MALFORMED_BEARER) return this.malformed(ctx, FAIL.badAuthorization);
      if (token !== null && token !== "") {
        if (ctx.query.length !== 0 && hasQueryToken(ctx.query)) return this.malformed(ctx, FAIL.twoMethods);
        const result = this.runtime.jwt!.authenticate(token);
        if (result instanceof Promise) return result.then((r) => this.admitToken(ctx, token, r));
        return this.admitToken(ctx, token, result);
      }
    }
    if (this.acceptsKey) {
      const key = this.apiKey(ctx);
      if (key !== null) {
        const result = this.runtime.apiKeys.authenticate(key);
        if (result.failed) {
          this.failures.count(result);
          return invalidCredential(ctx, "invalid_api_key", result.reason, this.keyChallenge);
        }
        return this.admit(ctx, result);
      }
    }
    this.failures.count("missing");
    return unauthorized(ctx, this.missingChallenges);
  };

  private apiKey(ctx: RequestContext): string | null {
    const rt = this.runtime;
    const key = ctx.req.headers.get(rt.apiKeyHeader);
    return key === null && rt.apiKeyQuery !== null ? queryParam(ctx.query, rt.apiKeyQuery) : key;
  }

  private admitToken(ctx: RequestContext, token: string, result: TokenResult): Response | undefined {
    if (result.failed) {
      // Not even token68: the header is malformed, not the token (RFC 6750 §3.1). Checked only here, off the hot path.
      if (!isToken68(token)) return this.malformed(ctx, FAIL.badAuthorization);
      this.failures.count(result);
      return invalidCredential(ctx, "invalid_token", result.reason, challengeFor("invalid_token", result));
    }
    if (this.acceptsKey) {
      const key = this.apiKey(ctx);
      if (key !== null) {
        const keyResult = this.runtime.apiKeys.authenticate(key);
        if (keyResult.failed) {
          this.failures.count(keyResult);
          return invalidCredential(ctx, "invalid_api_key", keyResult.reason, this.keyChallenge);
        }
      }
    }
    return this.admit(ctx, result);
  }

  private malformed(ctx: RequestContext, failure: AuthFailure): Response {
    this.failures.count(failure);
    return badRequest(ctx, failure.reason, [challengeFor("invalid_request", failure)]);
  }

  private admit(ctx: RequestContext, grant: Grant): Response | undefined {
    const identity = grant.identity;
    // Set even when refused below, so the access log says who was refused.
    ctx.identity = identity;
    if (!this.access.open) {
      const denial = this.access.check(ctx.method, identity);
      if (denial !== null) {
        this.failures.count("forbidden");
        return forbidden(ctx, denial.message, identity.via === "jwt" ? denial.bearerChallenge : null);
      }
    }
    const headers = grant.headers;
    for (let i = 0; i < headers.length; i++) addUpstreamHeader(ctx, headers[i]![0], headers[i]![1]);
    return undefined;
  }
}

/** One challenge string per failure, built on first use (failures are a fixed, frozen set). */
const challenges = new Map<AuthFailure, string>();
function challengeFor(error: "invalid_request" | "invalid_token", failure: AuthFailure): string {
  let c = challenges.get(failure);
  if (c === undefined) challenges.set(failure, (c = bearerErrorChallenge(error, failure.reason)));
  return c;
}
