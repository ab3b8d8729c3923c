/**
 * The auth policy's [[routes]] keys: `auth`, `roles`, `scopes`,
 * `method_roles`, with their checks against the rest of the config (the mode
 * has what it needs: [jwt], consumers with API keys; rules need an identity).
 *
 * Defaults: auth "none", roles/scopes [], method_roles {}.
 */
import { Type, type Static } from "@sinclair/typebox";
import { AUTH_MODES, type AuthMode } from "../../auth/modes.ts";
import { type NormalizeContext, type RouteRefs, values } from "../../config/normalize-common.ts";
import type { KeyPath } from "../../config/problems.ts";
import { NameList, oneOf, opt, type Loose } from "../../config/schema-kit.ts";
import { validateRouteMethod } from "../../router/radix.ts";

export const AUTH_ROUTE_KEYS = {
  auth: opt(oneOf(AUTH_MODES)),
  roles: opt(NameList),
  scopes: opt(NameList),
  method_roles: opt(Type.Record(Type.String(), NameList, { errorMessage: "expected a table of method = [roles]" })),
};

/** What a normalized route holds for this policy. */
export interface AuthRouteConfig {
  auth: AuthMode;
  /** Any-of. */
  roles: string[];
  /** All-of. */
  scopes: string[];
  /** Per-method overrides of roles, e.g. { POST: ["admin"] }; keys upper-case. */
  method_roles: Record<string, string[]>;
}

type Raw = Loose<Static<ReturnType<typeof Type.Object<typeof AUTH_ROUTE_KEYS>>>> & { methods?: (string | undefined)[] };

export function normalizeAuthRoute(ctx: NormalizeContext, rawRoute: Record<string, unknown>, at: KeyPath, refs: RouteRefs): AuthRouteConfig {
  const raw = rawRoute as Raw;
  const key = (...keys: (string | number)[]): KeyPath => [...at, ...keys];
  const auth: AuthMode = raw.auth ?? "none";
  const missing = missingForAuth(auth, refs);
  if (missing !== null) ctx.problems.add(key("auth"), missing);

  if (auth === "none") {
    for (const k of ["roles", "scopes", "method_roles"] as const) {
      if (raw[k] !== undefined) ctx.problems.add(key(k), 'needs auth = "jwt", "api_key" or "any" (auth is "none")');
    }
  } else if (auth === "api_key" && raw.scopes !== undefined) {
    ctx.problems.add(key("scopes"), 'scopes come from JWTs; needs auth = "jwt" or "any" (auth is "api_key")');
  }

  const methods = values(raw.methods).map((m) => m.toUpperCase());
  const method_roles: Record<string, string[]> = {};
  for (const [method, list] of Object.entries(raw.method_roles ?? {})) {
    const upper = method.toUpperCase();
    const bad = validateRouteMethod(upper);
    if (bad !== null) ctx.problems.add(key("method_roles", method), bad);
    else if (upper in method_roles) ctx.problems.add(key("method_roles", method), `duplicate method ${JSON.stringify(upper)}`);
    else if (methods.length > 0 && !methods.includes(upper)) {
      ctx.problems.add(key("method_roles", method), `method ${upper} is not in the route's methods`);
    }
    method_roles[upper] = values(list);
  }
  return { auth, roles: values(raw.roles), scopes: values(raw.scopes), method_roles };
}

function missingForAuth(auth: AuthMode, refs: RouteRefs): string | null {
  if (auth === "jwt" && !refs.hasJwt) return '"jwt" needs a [jwt] section';
  if (auth === "api_key" && !refs.hasApiKeys) return '"api_key" needs at least one [[consumers]] entry with api_keys';
  if (auth === "any" && !refs.hasJwt && !refs.hasApiKeys) {
    return '"any" needs a [jwt] section or a [[consumers]] entry with api_keys';
  }
  return null;
}
