import type { TProperties } from "@sinclair/typebox";
import type { NormalizeContext, RouteRefs } from "../config/normalize-common.ts";

export type { RouteRefs } from "../config/normalize-common.ts";
import type { KeyPath, Problems } from "../config/problems.ts";
import type { GatewayConfig, RouteConfig } from "../config/types.ts";
import type { GatewayError } from "../errors.ts";
import type { AccessEntry, RequestContext, UpstreamDraft } from "./context.ts";

/**
 * A policy is one small object with optional phase hooks (Pingora's
 * ProxyHttp, Envoy's filters). A route's chain is compiled at config load
 * from the recipe (src/policies/index.ts): a policy a route does not use is
 * not in its chain, and a hook a policy lacks is never called, so a route
 * that uses nothing runs none of this.
 *
 * Order: onRequest in recipe order; onUpstreamRequest in recipe order, once
 * per upstream try; onResponse, onError and onLog in reverse order. A policy
 * that answers in onRequest (401, 429, a cache hit) ends the request side:
 * the policies after it never see the request, and only the response hooks of
 * the policies before it run, on its answer.
 *
 * Hooks should be synchronous when they can be: the runner awaits only a
 * returned promise, so a chain of synchronous hooks costs no promise.
 * Expected denials are returned as responses (JSON, with request_id: see
 * `reject` in src/data/respond.ts); a hook that throws fails the request with
 * a 500 JSON error (or the GatewayError it threw), never the worker.
 */
export interface Policy {
  /** The recipe entry's name, for logs, metrics and errors. */
  readonly name: string;
  /**
   * Before the terminal (proxy, aggregate). Return a Response to answer the
   * client now; undefined to go on. Default: go on.
   */
  onRequest?(ctx: RequestContext): Response | undefined | Promise<Response | undefined>;
  /**
   * Before each upstream try of the proxy terminal, after the outgoing
   * request was drafted from the client's: edit its path, query, headers or
   * body through `draft`. Default: the draft goes out as it is.
   */
  onUpstreamRequest?(ctx: RequestContext, draft: UpstreamDraft): void | Promise<void>;
  /**
   * On the way back, in reverse order: the terminal's response, or the
   * answer of a later policy. Edit `res.headers` in place or return a
   * replacement. `body` is the response body as bytes when this policy set
   * `bufferResponse` and the body fits in it (null otherwise: no body, or a
   * larger one, which then streams through). A replacement with a new byte
   * body should be made with `replaceBody` so later hooks see its bytes.
   * Default: the response passes unchanged.
   */
  onResponse?(ctx: RequestContext, res: Response, body: Uint8Array | null): Response | void | Promise<Response | void>;
  /**
   * When the request failed instead of being answered (upstream unreachable
   * or timed out, a hook threw): return a Response to answer with instead
   * (stale-if-error), or nothing to let the JSON error go out. The response
   * hooks of the policies before this one then run on the answer.
   * Default: nothing.
   */
  onError?(ctx: RequestContext, error: GatewayError): Response | void;
  /**
   * Last, once the answer is decided, for every request this policy saw:
   * add fields to the access-log entry, count metrics. Never answers.
   * Default: nothing.
   */
  onLog?(ctx: RequestContext, entry: AccessEntry): void;
  /**
   * Bytes of response body this policy wants to see in onResponse. Bodies
   * up to this size are read whole before the response hooks run (the
   * largest wish of the route's policies counts); larger ones stream through
   * and reach onResponse as null. Default: 0 (streams are never buffered).
   */
  readonly bufferResponse?: number;
  /**
   * Wants the bytes of bodies that came whole with the upstream's head
   * (knownBody), without making the runner wait for a streamed one as
   * bufferResponse does: compression sizes and encodes those in one go and
   * streams the rest. Default: false.
   */
  readonly knownBodies?: boolean;
}

/** A recipe entry: everything one policy owns, from its config keys to its per-route hooks. */
export interface PolicyFactory<Setup = unknown> {
  /** Unique; how plugins name a slot (`after = "auth"`). */
  readonly name: string;
  /** Its top-level sections ([cache], [cors]: TypeBox schemas), merged into the file's schema. */
  readonly sectionKeys?: TProperties;
  /**
   * Its part of the normalized config from the raw file (after the schema
   * check; values it refused are gone), given the sections normalized before
   * it; problems go to `ctx.problems` with their key paths. Its types extend
   * GatewayConfig in src/config/types.ts.
   */
  normalizeSections?(ctx: NormalizeContext, doc: Record<string, unknown>, config: Readonly<Partial<GatewayConfig>>): Partial<GatewayConfig>;
  /** Its [[routes]] keys (TypeBox schemas), merged into the route schema. */
  readonly routeKeys?: TProperties;
  /**
   * Its part of a route's normalized config, from the route's raw table;
   * problems go to `ctx.problems` under `at` (the route's key path).
   */
  normalizeRoute?(ctx: NormalizeContext, raw: Record<string, unknown>, at: KeyPath, refs: RouteRefs): Partial<RouteConfig>;
  /**
   * Load-time checks that need the whole config or an engine's compile step,
   * run by --check, start and reload alike, so a config they pass never
   * fails in a worker. Default: none.
   */
  verify?(config: GatewayConfig, problems: Problems): void;
  /** Main thread: the shared memory of this policy's state, or null. `previous` is the running config's (kept across reloads when its layout still fits). */
  share?(config: GatewayConfig, previous: { config: GatewayConfig; buffer: SharedArrayBuffer | null } | null): SharedArrayBuffer | null;
  /** Main thread: background services feeding the shared state (Redis sync); reload() swaps to a reloaded config. */
  control?(config: GatewayConfig, buffer: SharedArrayBuffer | null): PolicyControl;
  /** Worker, once per snapshot: the runtime all routes' policies of this kind share. */
  setup?(config: GatewayConfig, buffer: SharedArrayBuffer | null): Setup;
  /** Worker, per route (entries of RECIPE): the route's policy, or null when the route does not use it. */
  create?(route: RouteConfig, setup: Setup, config: GatewayConfig): Policy | null;
  /** Worker, once per snapshot (entries of PRE_ROUTE): the policy every request passes before routing, or null. */
  preRoute?(setup: Setup, config: GatewayConfig): Policy | null;
  /** Worker: what the first requests need (a Redis connection, JWKS keys), waited for at most `timeoutMs` before serving. */
  ready?(setup: Setup, timeoutMs: number): Promise<void>;
  /** Worker: the snapshot this setup belongs to is retired. */
  dispose?(setup: Setup): void;
}

export interface PolicyControl {
  reload(config: GatewayConfig, buffer: SharedArrayBuffer | null): void;
  stop(): void;
}

/** Type-checked recipe entries; `satisfies` alone would lose the Setup link between setup() and create(). */
export function definePolicy<Setup>(factory: PolicyFactory<Setup>): PolicyFactory<Setup> {
  return factory;
}

/** Bytes of body known to go with `res`, set by whoever built it, so buffering hooks need not read it again. */
const knownBodies = new WeakMap<Response, Uint8Array>();

/** A response like `res` (status, headers) with `bytes` as its body, whose bytes later hooks see without a read. */
export function replaceBody(res: Response, bytes: Uint8Array, status: number = res.status): Response {
  const next = new Response(bytes, { status, headers: res.headers });
  knownBodies.set(next, bytes);
  return next;
}

/** Record that `res`'s body is `bytes` (the proxy terminal does so for bodies that came with the head). */
export function noteBody(res: Response, bytes: Uint8Array): Response {
  knownBodies.set(res, bytes);
  return res;
}

/** The bytes known to be `res`'s body, or undefined. */
export function knownBody(res: Response): Uint8Array | undefined {
  return knownBodies.get(res);
}
