/**
 * [[routes]] → RouteConfig[]: the keys every route has, then each recipe
 * entry's own keys (PolicyFactory.normalizeRoute: auth, rate_limits,
 * strip_prefix, ...), with the checks that look across routes: the upstream
 * exists, and no two routes claim the same host, path shape and method (the
 * router would refuse them at compile; reporting it here names both routes).
 *
 * Path, host and method syntax are the router's (src/router), so the config
 * accepts exactly what the router can build.
 *
 * Defaults: hosts [] (any), methods [] (every), timeout "0s" (the
 * upstream's read timeout); the policies' defaults are in their config.ts.
 */

import { validateRouteHost, validateRouteMethod, validateRoutePath } from "../router/radix.ts";
import { type NormalizeContext, type RouteRefs, present, readDuration } from "./normalize-common.ts";
import type { KeyPath } from "./problems.ts";
import type { Loose, RawRoute } from "./schema.ts";
import type { RouteConfig } from "./types.ts";
import { RECIPE } from "../policies/index.ts";
import { conditionsKey } from "../router/conditions.ts";
import { normalizeAggregate } from "./normalize-aggregate.ts";
import { normalizeMatch } from "./normalize-match.ts";
import { normalizeWebSocket } from "./normalize-websocket.ts";
import { normalizeBudget } from "../bench/config.ts";

export function normalizeRoutes(
  ctx: NormalizeContext,
  raw: readonly (Loose<RawRoute> | undefined)[] | undefined,
  refs: RouteRefs,
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

function normalizeRoute(ctx: NormalizeContext, raw: Loose<RawRoute>, path: KeyPath, refs: RouteRefs): RouteConfig {
  const at = (...keys: (string | number)[]): KeyPath => [...path, ...keys];
  if (raw.path !== undefined) checkPath(ctx, raw.path, at("path"));

  const hosts: string[] = [];
  for (const [host, i] of present(raw.hosts)) {
    const bad = validateRouteHost(host);
    if (bad !== null) ctx.problems.add(at("hosts", i), `invalid host ${JSON.stringify(host)}: ${bad}`);
    const lower = host.toLowerCase();
    if (hosts.includes(lower)) ctx.problems.add(at("hosts", i), `duplicate host ${JSON.stringify(host)}`);
    else hosts.push(lower);
  }

  if (raw.upstream !== undefined && !refs.upstreamNames.has(raw.upstream)) {
    ctx.problems.add(at("upstream"), `no upstream named ${JSON.stringify(raw.upstream)}`);
  }
  // An aggregate route's calls name their upstreams (normalize-aggregate.ts reports a call without one).
  if (raw.upstream === undefined && raw.aggregate === undefined) ctx.problems.add(at("upstream"), "required key missing");

  const route = {
    name: raw.name ?? "",
    hosts,
    path: raw.path ?? "/",
    methods: readMethods(ctx, raw.methods, at("methods")),
    upstream: raw.upstream ?? "",
    timeout: readDuration(ctx, raw.timeout, at("timeout"), 0),
    ...normalizeMatch(ctx, raw as Record<string, unknown>, path),
    ...normalizeAggregate(ctx, raw as Record<string, unknown>, path, refs),
    ...normalizeWebSocket(ctx, raw as Record<string, unknown>, path),
    budget: normalizeBudget(raw.budget as Record<string, unknown> | undefined),
  };
  // Each policy of the recipe normalizes its own keys.
  const pieces = RECIPE.map((f) => f.normalizeRoute?.(ctx, raw as Record<string, unknown>, path, refs));
  return Object.assign(route, ...pieces) as RouteConfig;
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

/** Same host (or both any host), same path shape, overlapping methods: the router could serve only one. */
function reportConflicts(ctx: NormalizeContext, routes: readonly RouteConfig[], indices: readonly number[]): void {
  const seen = new Map<string, { methods: readonly string[]; index: number }[]>();
  const matchSpelling = new Map<string, { path: string; index: number; match: boolean }>();
  for (let r = 0; r < routes.length; r++) {
    const route = routes[r]!;
    if (validateRoutePath(route.path) !== null) continue;
    // Routes differing in their `match` conditions share a path by design (the router picks among them).
    const bare = route.path
      .split("/")
      .map((s) => (s.startsWith(":") ? ":" : s))
      .join("/");
    const shape = bare + conditionsKey(route.match);
    let reported = false;
    for (const host of route.hosts.length === 0 ? [""] : route.hosts) {
      const key = `${host} ${shape}`;
      const earlier = seen.get(key) ?? [];
      // Variants told apart by `match` share one router entry: they must spell the path alike.
      const spelled = matchSpelling.get(`${host} ${bare}`);
      if (spelled !== undefined && spelled.path !== route.path && !reported && (spelled.match || route.match !== null)) {
        ctx.problems.add(["routes", indices[r]!, "path"], `routes told apart by match must write the path the same way as routes[${spelled.index}] (${JSON.stringify(spelled.path)})`);
        reported = true;
      }
      if (spelled === undefined) matchSpelling.set(`${host} ${bare}`, { path: route.path, index: indices[r]!, match: route.match !== null });
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
