import type { RouteConfig } from "../config/types.ts";
import type { Identity } from "./identity.ts";
import { bearerErrorChallenge } from "./responses.ts";

/** Why an authenticated caller is refused. Prebuilt per route at load. */
export interface AccessDenial {
  readonly message: string;
  /** WWW-Authenticate for JWT callers (RFC 6750 §3.1 insufficient_scope); null for role failures and API keys. */
  readonly bearerChallenge: string | null;
}

const NONE: readonly string[] = Object.freeze([]);

/**
 * A route's authorization rules, compiled:
 *  - `roles`: any-of; `method_roles[METHOD]` replaces it for that method
 *    (an empty list there means "no role needed"); HEAD falls back to GET's
 *    override when it has none of its own (HEAD is GET without a body);
 *  - `scopes`: all-of, against the identity's scopes (token `scope` ∪
 *    `permissions`; API keys carry none, so scoped routes need a token).
 */
export class RouteAccess {
  private readonly roles: readonly string[];
  private readonly methodRoles: ReadonlyMap<string, readonly string[]>;
  private readonly scopes: readonly string[];
  private readonly roleDenials = new Map<readonly string[], AccessDenial>();
  private readonly scopeDenial: AccessDenial;
  /** True when the route asks for nothing beyond being authenticated. */
  readonly open: boolean;

  constructor(route: RouteConfig) {
    this.roles = route.roles.length > 0 ? Object.freeze([...route.roles]) : NONE;
    const methodRoles = new Map<string, readonly string[]>();
    for (const [method, roles] of Object.entries(route.method_roles)) {
      methodRoles.set(method.toUpperCase(), roles.length > 0 ? Object.freeze([...roles]) : NONE);
    }
    if (!methodRoles.has("HEAD") && methodRoles.has("GET")) methodRoles.set("HEAD", methodRoles.get("GET")!);
    this.methodRoles = methodRoles;
    this.scopes = Object.freeze([...route.scopes]);
    for (const list of [this.roles, ...methodRoles.values()]) {
      if (list.length > 0 && !this.roleDenials.has(list)) {
        this.roleDenials.set(list, Object.freeze({ message: `requires one of roles: ${list.join(", ")}`, bearerChallenge: null }));
      }
    }
    const scopeText = this.scopes.join(" ");
    this.scopeDenial = Object.freeze({
      message: `requires scopes: ${scopeText}`,
      // RFC 6749 §3.3 scope tokens exclude '"' and a backslash; bearerErrorChallenge drops them.
      bearerChallenge: bearerErrorChallenge("insufficient_scope", "missing required scope", scopeText),
    });
    this.open = this.roles.length === 0 && this.scopes.length === 0 && [...methodRoles.values()].every((l) => l.length === 0);
  }

  /** Null when `identity` may make this request; the denial otherwise. */
  check(method: string, identity: Identity): AccessDenial | null {
    const required = this.methodRoles.size > 0 ? (this.methodRoles.get(method) ?? this.roles) : this.roles;
    if (required.length > 0 && !anyOf(required, identity.roles)) return this.roleDenials.get(required)!;
    for (let i = 0; i < this.scopes.length; i++) {
      if (!identity.scopes.includes(this.scopes[i]!)) return this.scopeDenial;
    }
    return null;
  }
}

function anyOf(required: readonly string[], held: readonly string[]): boolean {
  for (let i = 0; i < required.length; i++) if (held.includes(required[i]!)) return true;
  return false;
}
