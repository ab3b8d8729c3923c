/**
 * [[routes]] → RouteConfig[], with the checks that look across sections:
 * the upstream exists, the auth mode has what it needs ([jwt], consumers with
 * API keys), roles and scopes have an identity to come from, and no two routes
 * claim the same host, path shape and method (the router would refuse them
 * at compile; reporting it here names both routes).
 *
 * Path, host and method syntax are the router's (src/router), so the config
 * accepts exactly what the router can build.
 *
 * Defaults: hosts [] (any), methods [] (every), strip_prefix none, auth
 * "none", roles/scopes [], method_roles {}, rate_limits [], timeout "0s" (the
 * upstream's read timeout).
 */

import { validateRouteHost, validateRouteMethod, validateRoutePath } from "../router/radix.ts";
import { type NormalizeContext, present, readDuration, values } from "./normalize-common.ts";
import { normalizeRateLimits } from "./normalize-rate-limits.ts";
import type { KeyPath } from "./problems.ts";
import type { Loose, RawRoute } from "./schema.ts";
import type { AuthMode, RouteConfig } from "./types.ts";

/** What routes need to know about the rest of the config. */
export interface RouteContext {
  upstreamNames: ReadonlySet<string>;
  hasJwt: boolean;
  hasApiKeys: boolean;
}

export function normalizeRoutes(
  ctx: NormalizeContext,
  raw: readonly (Loose<RawRoute> | undefined)[] | undefined,
  refs: RouteContext,
): RouteConfig[] {
  const out: RouteConfig[] = [];
  const indices: number[] = [];
  const firstByName = new Map<string, number>();
  for (const [route, i] of present(raw)) {
    if (route.name !== undefined) {
      const first = firstByName.get(route.name);
      if (first !== undefined) {
        ctx.problems.add(["routes", i, "name"], `duplicate route name ${JSON.stringify(route.name)} (also routes[${first}])`);
      } else firstByName.set(route.name, i);
    }
    out.push(normalizeRoute(ctx, route, ["routes", i], refs));
    indices.push(i);
  }
  reportConflicts(ctx, out, indices);
  return out;
}

function normalizeRoute(ctx: NormalizeContext, raw: Loose<RawRoute>, path: KeyPath, refs: RouteContext): RouteConfig {
  const at = (...keys: (string | number)[]): KeyPath => [...path, ...keys];
  const name = raw.name ?? "";
  const routePath = raw.path ?? "/";
  const pathOk = raw.path !== undefined && checkPath(ctx, raw.path, at("path"));

  const hosts: string[] = [];
  for (const [host, i] of present(raw.hosts)) {
    const bad = validateRouteHost(host);
    if (bad !== null) ctx.problems.add(at("hosts", i), `invalid host ${JSON.stringify(host)}: ${bad}`);
    const lower = host.toLowerCase();
    if (hosts.includes(lower)) ctx.problems.add(at("hosts", i), `duplicate host ${JSON.stringify(host)}`);
    else hosts.push(lower);
  }

  const methods = readMethods(ctx, raw.methods, at("methods"));

  if (raw.upstream !== undefined && !refs.upstreamNames.has(raw.upstream)) {
    ctx.problems.add(at("upstream"), `no upstream named ${JSON.stringify(raw.upstream)}`);
  }

  let strip_prefix: string | null = null;
  if (raw.strip_prefix !== undefined) {
    // Kept without a trailing "/", so what remains after stripping still starts with "/"; "/" strips nothing.
    const bare = raw.strip_prefix.endsWith("/") ? raw.strip_prefix.slice(0, -1) : raw.strip_prefix;
    strip_prefix = bare === "" ? null : bare;
    if (pathOk) {
      const bad = checkStripPrefix(raw.strip_prefix, routePath);
      if (bad !== null) ctx.problems.add(at("strip_prefix"), bad);
    }
  }

  const auth: AuthMode = raw.auth ?? "none";
  const authProblem = missingForAuth(auth, refs);
  if (authProblem !== null) ctx.problems.add(at("auth"), authProblem);

  const roles = values(raw.roles);
  const scopes = values(raw.scopes);
  if (auth === "none") {
    for (const key of ["roles", "scopes", "method_roles"] as const) {
      if (raw[key] !== undefined) ctx.problems.add(at(key), 'needs auth = "jwt", "api_key" or "any" (auth is "none")');
    }
  } else if (auth === "api_key" && raw.scopes !== undefined) {
    ctx.problems.add(at("scopes"), 'scopes come from JWTs; needs auth = "jwt" or "any" (auth is "api_key")');
  }

  const method_roles: Record<string, string[]> = {};
  for (const [method, list] of Object.entries(raw.method_roles ?? {})) {
    const upper = method.toUpperCase();
    const bad = validateRouteMethod(upper);
    if (bad !== null) ctx.problems.add(at("method_roles", method), bad);
    else if (upper in method_roles) ctx.problems.add(at("method_roles", method), `duplicate method ${JSON.stringify(upper)}`);
    else if (methods.length > 0 && !methods.includes(upper)) {
      ctx.problems.add(at("method_roles", method), `method ${upper} is not in the route's methods`);
    }
    method_roles[upper] = values(list);
  }

  return {
    name,
    hosts,
    path: routePath,
    methods,
    upstream: raw.upstream ?? "",
    strip_prefix,
    auth,
    roles,
    scopes,
    method_roles,
    rate_limits: normalizeRateLimits(ctx, raw.rate_limits, at("rate_limits"), {
      idPrefix: name,
      defaultKey: "ip",
      auth,
    }),
    timeout: readDuration(ctx, raw.timeout, at("timeout"), 0),
  };
}

function checkPath(ctx: NormalizeContext, routePath: string, path: KeyPath): boolean {
  const bad = validateRoutePath(routePath);
  if (bad === null) return true;
  ctx.problems.add(path, `invalid route path ${JSON.stringify(routePath)}: ${bad}`);
  return false;
}

function readMethods(ctx: NormalizeContext, raw: readonly (string | undefined)[] | undefined, path: KeyPath): string[] {
  const out: string[] = [];
  for (const [method, i] of present(raw)) {
    const upper = method.toUpperCase();
    const bad = validateRouteMethod(upper);
    if (bad !== null) ctx.problems.add([...path, i], bad);
    else if (out.includes(upper)) ctx.problems.add([...path, i], `duplicate method ${JSON.stringify(upper)}`);
    else out.push(upper);
  }
  return out;
}

/** The static part of a pattern: the segments before the first ":param" or "*". */
export function staticPart(routePath: string): string {
  const segments = routePath.split("/");
  const stop = segments.findIndex((s, i) => i > 0 && (s.startsWith(":") || s === "*"));
  return stop === -1 ? routePath : segments.slice(0, stop).join("/");
}

/** strip_prefix must cover whole leading segments of the path's static part. */
function checkStripPrefix(prefix: string, routePath: string): string | null {
  if (!prefix.startsWith("/")) return 'must start with "/"';
  const fixed = staticPart(routePath);
  const bare = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  if (bare === "" || fixed === bare || fixed.startsWith(`${bare}/`)) return null;
  return `${JSON.stringify(prefix)} is not a leading part of the route path's static part ${JSON.stringify(fixed || "/")}`;
}

function missingForAuth(auth: AuthMode, refs: RouteContext): string | null {
  if (auth === "jwt" && !refs.hasJwt) return '"jwt" needs a [jwt] section';
  if (auth === "api_key" && !refs.hasApiKeys) return '"api_key" needs at least one [[consumers]] entry with api_keys';
  if (auth === "any" && !refs.hasJwt && !refs.hasApiKeys) {
    return '"any" needs a [jwt] section or a [[consumers]] entry with api_keys';
  }
  return null;
}

/** Same host (or both any host), same path shape, overlapping methods: the router could serve only one. */
function reportConflicts(ctx: NormalizeContext, routes: readonly RouteConfig[], indices: readonly number[]): void {
  const seen = new Map<string, { methods: readonly string[]; index: number }[]>();
  for (let r = 0; r < routes.length; r++) {
    const route = routes[r]!;
    if (validateRoutePath(route.path) !== null) continue;
    const shape = route.path
      .split("/")
      .map((s) => (s.startsWith(":") ? ":" : s))
      .join("/");
    let reported = false;
    for (const host of route.hosts.length === 0 ? [""] : route.hosts) {
      const key = `${host} ${shape}`;
      const earlier = seen.get(key) ?? [];
      const clash = earlier.find((e) => methodsOverlap(e.methods, route.methods));
      if (clash !== undefined && !reported) {
        const where = host === "" ? "any host" : `host ${host}`;
        ctx.problems.add(
          ["routes", indices[r]!, "path"],
          `same path, methods and host (${where}) as routes[${clash.index}]; the router could serve only one`,
        );
        reported = true;
      }
      earlier.push({ methods: route.methods, index: indices[r]! });
      seen.set(key, earlier);
    }
  }
}

/** [] means every method, but a route naming a method wins over it on the same path, so only [] vs [] clash. */
function methodsOverlap(a: readonly string[], b: readonly string[]): boolean {
  if (a.length === 0 || b.length === 0) return a.length === 0 && b.length === 0;
  return a.some((m) => b.includes(m));
}
