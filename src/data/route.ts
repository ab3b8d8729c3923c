import type { RouteConfig } from "../config/types.ts";
import type { GatewayError } from "../errors.ts";
import type { AccessEntry, RequestContext, UpstreamDraft } from "../policies/context.ts";
import type { Policy } from "../policies/types.ts";
import { conditionsHold, type ConditionView } from "../router/conditions.ts";
import { queryValue } from "../transform/index.ts";

/**
 * The last step of a route: it produces the answer once every request hook
 * has let the request through. `proxy` forwards to one upstream
 * (src/data/proxy/); `aggregate` fans out (src/data/aggregate/); `upgrade`
 * relays a WebSocket (src/data/websocket/: the handler upgrades the client).
 */
export interface Terminal {
  readonly kind: "proxy" | "aggregate" | "upgrade";
  /** The answer, or a rejection with a GatewayError (unreachable, timeout...). */
  run(ctx: RequestContext): Promise<Response>;
}

export type RequestHook = (ctx: RequestContext) => Response | undefined | Promise<Response | undefined>;
export type UpstreamHook = (ctx: RequestContext, draft: UpstreamDraft) => void | Promise<void>;
export type ResponseHook = (ctx: RequestContext, res: Response, body: Uint8Array | null) => Response | void | Promise<Response | void>;
export type ErrorHook = (ctx: RequestContext, error: GatewayError) => Response | void;
export type LogHook = (ctx: RequestContext, entry: AccessEntry) => void;

/**
 * A compiled chain of policies: only the hooks they have, in the order they
 * run, each with its policy's index (`…At`), so an answer given by policy i
 * runs the response side of policies [0, i) only. The response-side lists are
 * in reverse order already. Indices count the pre-route stage's policies
 * first, then the route's: one chain serves a request from accept to log.
 */
export interface Chain {
  readonly policies: readonly Policy[];
  /** How many of `policies` are the pre-route stage's (they come first). */
  readonly preRoute: number;
  /** The route's onRequest hooks (the pre-route stage runs its own before routing). */
  readonly request: readonly RequestHook[];
  readonly requestAt: readonly number[];
  readonly upstream: readonly UpstreamHook[];
  readonly response: readonly ResponseHook[];
  readonly responseAt: readonly number[];
  /** Per response hook: bytes of body it wants to see (0: none). */
  readonly responseBuffer: readonly number[];
  readonly error: readonly ErrorHook[];
  readonly errorAt: readonly number[];
  readonly log: readonly LogHook[];
  readonly logAt: readonly number[];
  /** The largest bufferResponse of the chain. */
  readonly buffer: number;
  /** The terminal records byte bodies (knownBody): some policy buffers or asked for known bodies. */
  readonly notesBodies: boolean;
}

/** A route as the data plane sees it: config resolved, chain compiled, terminal bound. Immutable. */
export interface CompiledRoute {
  readonly name: string;
  readonly config: RouteConfig;
  readonly chain: Chain;
  readonly terminal: Terminal;
  /**
   * Routes on this same path, methods and hosts told apart by `match`
   * conditions, most conditions first, one without conditions last (if any);
   * null when this route is alone (no condition to test).
   */
  readonly variants: readonly CompiledRoute[] | null;
}

/** The request as route conditions read it. */
class RequestView implements ConditionView {
  constructor(private readonly ctx: RequestContext) {}
  header(name: string): string | null {
    return this.ctx.req.headers.get(name);
  }
  query(name: string): string | null {
    return queryValue(this.ctx.query, name);
  }
}

/** The first variant whose conditions hold (a route without conditions always does), or null: a 404. */
export function pickVariant(variants: readonly CompiledRoute[], ctx: RequestContext): CompiledRoute | null {
  const view = new RequestView(ctx);
  for (const v of variants) if (v.config.match === null || conditionsHold(v.config.match, view)) return v;
  return null;
}

/** Compile `pre` (the pre-route stage) and `policies` (a route's, or none) into one chain. */
export function compileChain(pre: readonly Policy[], policies: readonly Policy[]): Chain {
  const all = [...pre, ...policies];
  const request: RequestHook[] = [];
  const requestAt: number[] = [];
  const upstream: UpstreamHook[] = [];
  const response: ResponseHook[] = [];
  const responseAt: number[] = [];
  const responseBuffer: number[] = [];
  const error: ErrorHook[] = [];
  const errorAt: number[] = [];
  const log: LogHook[] = [];
  const logAt: number[] = [];
  let buffer = 0;
  let knownBodies = false;
  all.forEach((p, i) => {
    if (p.knownBodies) knownBodies = true;
    // Bound once here, so the runner calls plain functions and never tests for an absent hook.
    if (p.onRequest && i >= pre.length) {
      request.push(p.onRequest.bind(p));
      requestAt.push(i);
    }
    if (p.onUpstreamRequest) upstream.push(p.onUpstreamRequest.bind(p));
    if (p.onResponse) {
      response.push(p.onResponse.bind(p));
      responseAt.push(i);
      const want = p.bufferResponse ?? 0;
      responseBuffer.push(want);
      if (want > buffer) buffer = want;
    }
    if (p.onError) {
      error.push(p.onError.bind(p));
      errorAt.push(i);
    }
    if (p.onLog) {
      log.push(p.onLog.bind(p));
      logAt.push(i);
    }
  });
  return {
    policies: all,
    preRoute: pre.length,
    request,
    requestAt,
    upstream,
    response: response.reverse(),
    responseAt: responseAt.reverse(),
    responseBuffer: responseBuffer.reverse(),
    error: error.reverse(),
    errorAt: errorAt.reverse(),
    log: log.reverse(),
    logAt: logAt.reverse(),
    buffer,
    notesBodies: buffer > 0 || knownBodies,
  };
}

/** The pre-route stage's onRequest hooks, in order (they run before routing), with their policies' indices. */
export function preRouteHooks(pre: readonly Policy[]): { hooks: RequestHook[]; at: number[] } {
  const hooks: RequestHook[] = [];
  const at: number[] = [];
  pre.forEach((p, i) => {
    if (p.onRequest) {
      hooks.push(p.onRequest.bind(p));
      at.push(i);
    }
  });
  return { hooks, at };
}
