import type { GatewayConfig, RouteConfig, UpstreamConfig } from "../config/types.ts";
import type { RequestContext } from "../policies/context.ts";
import type { Policy } from "../policies/types.ts";
import type { CompiledRoute } from "./route.ts";
import type { UpstreamBinding } from "./proxy/forward.ts";
import { Router } from "../router/radix.ts";
import { compileCidrs, type CidrSet } from "../util/cidr.ts";
import { ClientRegistry } from "./clients.ts";
import { buildPolicies, buildRuntimes, type SharedBuffers } from "./runtimes.ts";

/**
 * Everything a worker needs to serve, compiled once from a validated config.
 * Immutable: a reload builds a new one and swaps the reference, so a request
 * that started on the old snapshot finishes on it.
 */
export interface Snapshot {
  readonly config: GatewayConfig;
  readonly router: Router<RouteEntry>;
  readonly trustedProxies: CidrSet;
  /** Lower-case names stripped from every inbound request before forwarding (identity headers). */
  readonly stripInbound: ReadonlySet<string>;
  /** Remove Authorization before forwarding. */
  readonly stripAuthorization: boolean;
  /** The API-key query parameter to remove before forwarding (auth.strip_api_key with api_key_query), or null. */
  readonly stripKeyQuery: string | null;
  readonly upstreams: ReadonlyMap<string, UpstreamBinding>;
  /** Wait (bounded) for what the first requests need: strict-mode Redis, JWKS keys. */
  ready(timeoutMs: number): Promise<void>;
  /** Called when a newer snapshot replaced this one and its requests are done. */
  dispose(): void;
}

/** What the router stores: the compiled route plus forwarding facts resolved at load. */
export interface RouteEntry extends CompiledRoute {
  readonly binding: UpstreamBinding;
  /** Static prefix to remove from the path, or "". */
  readonly stripPrefix: string;
}

export function compileSnapshot(config: GatewayConfig, shared: SharedBuffers, clients: ClientRegistry): Snapshot {
  const runtimes = buildRuntimes(config, shared);
  const upstreams = new Map<string, UpstreamBinding>();
  config.upstreams.forEach((u, index) => upstreams.set(u.name, bindUpstream(u, runtimes.upstream(u, index), clients)));

  const router = new Router<RouteEntry>();
  for (const route of config.routes) {
    const binding = upstreams.get(route.upstream)!;
    router.add(route.path, route.methods, route.hosts, compileRoute(route, binding, buildPolicies(route, config, runtimes)));
  }
  // Build the matcher now, not on the first request.
  router.compile();
  clients.retain(config);
  return {
    config,
    router,
    trustedProxies: compileCidrs(config.server.trusted_proxies),
    stripInbound: new Set(runtimes.identityHeaders),
    stripAuthorization: config.auth.strip_authorization,
    stripKeyQuery: config.auth.strip_api_key ? config.auth.api_key_query : null,
    upstreams,
    ready: runtimes.ready,
    dispose: runtimes.dispose,
  };
}

function compileRoute(route: RouteConfig, binding: UpstreamBinding, policies: Policy[]): RouteEntry {
  // Only the hooks a policy has are kept, so the request loop never tests for absent ones.
  const requestHooks = policies
    .filter((p) => p.onRequest)
    .map((p) => p.onRequest!.bind(p) as (ctx: RequestContext) => Response | undefined | Promise<Response | undefined>);
  const responseHooks = policies
    .filter((p) => p.onResponse)
    .reverse()
    .map((p) => p.onResponse!.bind(p) as (ctx: RequestContext, res: Response) => Response | void);
  return {
    name: route.name,
    config: route,
    upstream: binding.runtime,
    policies,
    requestHooks,
    responseHooks,
    binding,
    stripPrefix: route.strip_prefix ?? "",
  };
}

function bindUpstream(u: UpstreamConfig, runtime: UpstreamBinding["runtime"], clients: ClientRegistry): UpstreamBinding {
  return {
    runtime,
    config: u,
    clients: u.targets.map((t) => clients.get(t, u)),
    hostHeaders: u.targets.map((t) => hostHeader(t.host, t.port, t.protocol)),
    targetNames: u.targets.map((t) => `${t.protocol}//${t.host}:${t.port}`),
    failureStatuses: new Set(u.circuit_breaker?.statuses ?? rangeOf(500, 599)),
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
