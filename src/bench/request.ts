/**
 * What `gateway bench` sends to a route: one concrete request synthesized
 * from the route's config, and the same request straight to the route's
 * upstream (the overhead baseline).
 *
 *  - path: the pattern with every `:param` filled (`[bench] params`, else
 *    "1") and a trailing `*` replaced by "bench";
 *  - method: GET when the route allows it (or allows every method), else its
 *    first method; a body-carrying method sends a small JSON body;
 *  - Host: the route's first host name (a "*." wildcard gets "bench."),
 *    else the gateway's address;
 *  - headers: `[bench] headers`, the headers a `match` condition requires
 *    (with a fixed value), `[bench.requests.NAME] headers`, then each
 *    `--header` (credentials of an auth-protected route go in one of these);
 *  - `[bench.requests.NAME]` replaces any part: path (sent as written),
 *    method, body.
 *
 * The direct request goes to the upstream's first target with the route's
 * `strip_prefix` removed, as the gateway would forward it. Aggregate and
 * WebSocket routes have no single upstream request: they are measured
 * without an overhead figure.
 */
import type { GatewayConfig, RouteConfig } from "../config/types.ts";
import { encodeRequest } from "./http.ts";

export interface Endpoint {
  hostname: string;
  port: number;
}

export interface RoutePlan {
  name: string;
  method: string;
  path: string;
  /** The request's bytes, to the gateway. */
  request: Uint8Array;
  /** The same request to the upstream's first target; null when the route has no single upstream. */
  direct: { endpoint: Endpoint; request: Uint8Array; path: string } | null;
  /** GET/HEAD/OPTIONS/PUT/DELETE: a failed one is what the fault scenarios must not show (RFC 9110 §9.2.2). */
  idempotent: boolean;
  upstream: string;
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

export function planRoute(config: GatewayConfig, route: RouteConfig, gateway: Endpoint, extraHeaders: readonly [string, string][]): RoutePlan {
  const params = config.bench.params;
  const own = config.bench.requests[route.name];
  const path = own?.path ?? concretePath(route.path, params);
  const method = own?.method ?? (route.methods.length === 0 || route.methods.includes("GET") ? "GET" : route.methods[0]!);
  const host = route.hosts.length > 0 ? route.hosts[0]!.replace(/^\*\./, "bench.") : hostPort(gateway);
  const headers: [string, string][] = [];
  for (const [k, v] of Object.entries(config.bench.headers)) headers.push([k, v]);
  for (const c of route.match?.headers ?? []) {
    if (c.kind === "present") headers.push([c.name, "bench"]);
    else if (c.kind === "values") headers.push([c.name, c.values[0] ?? ""]);
  }
  for (const [k, v] of Object.entries(own?.headers ?? {})) headers.push([k, v]);
  headers.push(...extraHeaders);
  const body = own?.body ?? (method === "GET" || method === "HEAD" || method === "DELETE" || method === "OPTIONS" ? null : '{"bench":true}');
  if (body !== null && !headers.some(([k]) => k.toLowerCase() === "content-type")) headers.push(["content-type", "application/json"]);
  // A path given in [bench.requests] is sent as written, query included.
  const query = own?.path !== undefined ? "" : matchQuery(route);
  const target = path + query;
  const request = encodeRequest({ method, path: target, host, headers, body });

  let direct: RoutePlan["direct"] = null;
  const upstream = config.upstreams.find((u) => u.name === route.upstream);
  const first = upstream?.targets[0];
  if (upstream !== undefined && first !== undefined && first.protocol === "http:" && route.aggregate.length === 0 && !isWebSocket(route)) {
    const directPath = stripPrefix(path, route.strip_prefix) + query;
    const endpoint = { hostname: first.host, port: first.port };
    const directHost = upstream.preserve_host ? host : (first.hostname ?? hostPort(endpoint));
    direct = { endpoint, path: directPath, request: encodeRequest({ method, path: directPath, host: directHost, headers, body }) };
  }
  return { name: route.name, method, path: target, request, direct, idempotent: IDEMPOTENT.has(method), upstream: route.upstream };
}

/** "/users/:id/*" → "/users/1/bench". */
export function concretePath(pattern: string, params: Readonly<Record<string, string>>): string {
  return pattern
    .split("/")
    .map((seg, i, all) => {
      if (seg.startsWith(":")) return encodeURIComponent(params[seg.slice(1)] ?? "1");
      if (seg === "*" && i === all.length - 1) return "bench";
      return seg;
    })
    .join("/");
}

function stripPrefix(path: string, prefix: string | null): string {
  if (prefix === null || !path.startsWith(prefix)) return path;
  const rest = path.slice(prefix.length);
  return rest === "" ? "/" : rest.startsWith("/") ? rest : `/${rest}`;
}

function matchQuery(route: RouteConfig): string {
  const parts: string[] = [];
  for (const c of route.match?.query ?? []) {
    if (c.kind === "present") parts.push(`${encodeURIComponent(c.name)}=bench`);
    else if (c.kind === "values") parts.push(`${encodeURIComponent(c.name)}=${encodeURIComponent(c.values[0] ?? "")}`);
  }
  return parts.length > 0 ? `?${parts.join("&")}` : "";
}

function isWebSocket(route: RouteConfig): boolean {
  return (route as { websocket?: unknown }).websocket === true;
}

function hostPort(e: Endpoint): string {
  return `${e.hostname.includes(":") ? `[${e.hostname}]` : e.hostname}:${e.port}`;
}

/**
 * The bench sends load only to loopback and to the hosts the config itself
 * names as targets: a typo in `--target` must not turn it into a load test
 * of somebody else's server.
 */
export function allowedHost(config: GatewayConfig, hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h)) return true;
  return config.upstreams.some((u) => u.targets.some((t) => t.host.toLowerCase() === h || t.hostname?.toLowerCase() === h));
}
