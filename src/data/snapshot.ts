import { identityHeaderNames } from "../auth/index.ts";
import type { GatewayConfig, RouteConfig, UpstreamConfig } from "../config/types.ts";
import { PRE_ROUTE, RECIPE } from "../policies/index.ts";
import type { Policy, PolicyFactory } from "../policies/types.ts";
import { conditionCount, variantKey } from "../router/conditions.ts";
import { Router } from "../router/radix.ts";
import { createUpstreamRuntimes } from "../upstream/index.ts";
import { metricsRegistry } from "../metrics/registry.ts";
import { compileCidrs, type CidrSet } from "../util/cidr.ts";
import { AggregateTerminal } from "./aggregate/terminal.ts";
import type { ClientRegistry } from "./clients.ts";
import type { UpstreamBinding } from "./proxy/forward.ts";
import { ProxyTerminal, proxyEnv } from "./proxy/terminal.ts";
import { WebSocketTerminal } from "./websocket/terminal.ts";
import { compileChain, preRouteHooks, type Chain, type CompiledRoute, type RequestHook } from "./route.ts";
import type { SharedBuffers } from "./shared.ts";

/**
 * Everything a worker needs to serve, compiled once from a validated config.
 * Immutable: a reload builds a new one and swaps the reference, so a request
 * that started on the old snapshot finishes on it.
 */
export interface Snapshot {
  readonly config: GatewayConfig;
  readonly router: Router<CompiledRoute>;
  readonly trustedProxies: CidrSet;
  /** The pre-route stage's onRequest hooks, and each one's policy index in the chains. */
  readonly preRoute: readonly RequestHook[];
  readonly preRouteAt: readonly number[];
  /** The chain of requests no route serves (checks, liveness, 404, 405): the pre-route stage alone. */
  readonly unrouted: Chain;
  readonly upstreams: ReadonlyMap<string, UpstreamBinding>;
  /** Wait (bounded) for what the first requests need: strict-mode Redis, JWKS keys. */
  ready(timeoutMs: number): Promise<void>;
  /** Called when a newer snapshot replaced this one and its requests are done. */
  dispose(): void;
}

/** Other recipes than the product's: the handler tests', and the recipe with the user's plugins in it. */
export interface RecipeOverride {
  readonly preRoute?: readonly PolicyFactory<any>[];
  readonly recipe?: readonly PolicyFactory<any>[];
}

export function compileSnapshot(config: GatewayConfig, shared: SharedBuffers, clients: ClientRegistry, override: RecipeOverride = {}): Snapshot {
  const preList = override.preRoute ?? PRE_ROUTE;
  const recipe = override.recipe ?? RECIPE;
  // One runtime per policy kind and snapshot, shared by all its routes.
  const setups = new Map<PolicyFactory<any>, unknown>();
  const setupOf = (f: PolicyFactory<any>): unknown => {
    if (!setups.has(f)) setups.set(f, f.setup ? f.setup(config, shared.policies[f.name] ?? null) : undefined);
    return setups.get(f);
  };
  const prePolicies = present(preList.map((f) => f.preRoute?.(setupOf(f), config) ?? null));
  for (const f of recipe) setupOf(f);

  const runtimes = createUpstreamRuntimes(config.upstreams, shared.upstreams);
  const upstreams = new Map<string, UpstreamBinding>();
  config.upstreams.forEach((u, index) => upstreams.set(u.name, bindUpstream(u, runtimes[index]!, clients)));

  const trustedProxies = compileCidrs(config.server.trusted_proxies);
  const env = proxyEnv(config, trustedProxies, identityHeaderNames(config.auth));
  const router = new Router<CompiledRoute>();
  const compiled: CompiledRoute[] = [];
  for (const route of config.routes) {
    const policies = present(recipe.map((f) => f.create?.(route, setupOf(f), config) ?? null));
    const chain = compileChain(prePolicies, policies);
    const terminal =
      route.aggregate.length > 0
        ? new AggregateTerminal(env, route, upstreams)
        : route.websocket
          ? new WebSocketTerminal(env, upstreams.get(route.upstream)!, route, chain.upstream)
          : new ProxyTerminal(env, upstreams.get(route.upstream)!, route, chain.upstream, chain.notesBodies);
    compiled.push({ name: route.name, config: route, chain, terminal, variants: null });
  }
  for (const [first, variants] of groupVariants(compiled)) router.add(first.config.path, first.config.methods, first.config.hosts, { ...first, variants });
  // Build the matcher now, not on the first request.
  router.compile();
  clients.retain(config);
  const pre = preRouteHooks(prePolicies);
  const kinds = [...setups.keys()];
  return {
    config,
    router,
    trustedProxies,
    preRoute: pre.hooks,
    preRouteAt: pre.at,
    unrouted: compileChain(prePolicies, []),
    upstreams,
    async ready(timeoutMs) {
      await Promise.all(kinds.map((f) => f.ready?.(setups.get(f), timeoutMs)));
    },
    dispose() {
      for (const f of kinds) f.dispose?.(setups.get(f));
    },
  };
}

/**
 * Routes with `match` conditions share the router entry of their path,
 * methods and hosts: one entry per group, carrying its variants, most
 * conditions first (config order among equals), so the router stays one
 * compiled tree and a path without conditions pays nothing.
 */
function groupVariants(routes: readonly CompiledRoute[]): [CompiledRoute, CompiledRoute[] | null][] {
  const groups = new Map<string, CompiledRoute[]>();
  for (const r of routes) {
    const key = variantKey(r.config);
    const g = groups.get(key);
    if (g === undefined) groups.set(key, [r]);
    else g.push(r);
  }
  return [...groups.values()].map((g) => {
    if (g.length === 1 && g[0]!.config.match === null) return [g[0]!, null];
    const sorted = [...g].sort((a, b) => conditionCount(b.config.match) - conditionCount(a.config.match));
    // No variant without conditions: a route on the same path that covers these methods and hosts catches the rest.
    if (sorted[sorted.length - 1]!.config.match !== null) {
      const fallback = routes.find((r) => r.config.match === null && covers(r.config, sorted[0]!.config));
      if (fallback !== undefined) sorted.push(fallback);
    }
    return [sorted[0]!, sorted];
  });
}

/** `wide` serves every request `narrow`'s path, methods and hosts could: same path, methods [] or a superset, hosts [] or the same. */
function covers(wide: RouteConfig, narrow: RouteConfig): boolean {
  if (wide.path !== narrow.path) return false;
  const methods = wide.methods.length === 0 || (narrow.methods.length > 0 && narrow.methods.every((m) => wide.methods.includes(m)));
  const hosts = wide.hosts.length === 0 || (narrow.hosts.length > 0 && narrow.hosts.every((h) => wide.hosts.includes(h)));
  return methods && hosts;
}

function present(list: readonly (Policy | null)[]): Policy[] {
  return list.filter((p): p is Policy => p !== null);
}

function bindUpstream(u: UpstreamConfig, runtime: UpstreamBinding["runtime"], clients: ClientRegistry): UpstreamBinding {
  return {
    runtime,
    config: u,
    clients: u.targets.map((t) => clients.get(t, u)),
    // A discovered target connects to its address but is still named by its host name (RFC 9110 §7.2).
    hostHeaders: u.targets.map((t) => hostHeader(t.hostname ?? t.host, t.port, t.protocol)),
    targetNames: u.targets.map((t) => `${t.protocol}//${t.host}:${t.port}`),
    failureStatuses: new Set(u.circuit_breaker?.statuses ?? rangeOf(500, 599)),
    retries: metricsRegistry()
      .counter("gateway_upstream_retries_total", "Tries after the first, each on another target, by upstream", ["upstream"])
      .labels([u.name]),
  };
}

/** RFC 9110 §7.2: omit the port when it is the scheme's default. */
function hostHeader(host: string, port: number, protocol: string): string {
  const h = host.includes(":") ? `[${host}]` : host;
  const isDefault = (protocol === "http:" && port === 80) || (protocol === "https:" && port === 443);
  return isDefault ? h : `${h}:${port}`;
}

function rangeOf(from: number, to: number): number[] {
  const out: number[] = [];
  for (let s = from; s <= to; s++) out.push(s);
  return out;
}
