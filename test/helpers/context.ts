import type { Identity, RequestContext } from "../../src/policies/context.ts";
import type { RouteConfig } from "../../src/config/types.ts";

export interface ContextInit {
  method?: string;
  path?: string;
  query?: string;
  headers?: Record<string, string>;
  clientIp?: string;
  requestId?: string;
  route?: Partial<RouteConfig>;
  identity?: Identity | null;
  start?: number;
}

/**
 * A RequestContext as the server builds it (src/data/handler.ts), with a
 * real Request behind it, for driving policies and balancers without a socket.
 */
export function testContext(init: ContextInit = {}): RequestContext {
  const method = init.method ?? "GET";
  const path = init.path ?? "/";
  const query = init.query ?? "";
  const ip = init.clientIp ?? "127.0.0.1";
  return {
    req: new Request(`http://gw.test${path}${query}`, { method, headers: init.headers ?? {} }),
    method,
    path,
    query,
    host: "gw.test",
    hostPort: "gw.test",
    clientIp: ip,
    peerIp: ip,
    requestId: init.requestId ?? "req-1",
    route: (init.route ?? {}) as RouteConfig,
    params: {},
    start: init.start ?? 0,
    identity: init.identity ?? null,
    upstreamHeaders: null,
    responseHeaders: null,
    cleanups: null,
    streamedBody: false,
    target: null,
    tries: 0,
    upstreamMs: 0,
    bytesOut: -1,
    trace: null,
    logFields: null,
    pluginView: null,
  };
}
