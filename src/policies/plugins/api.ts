/**
 * What a plugin sees: its definition's shape, the `api` handed to create(),
 * and the stable view of a request its hooks get. Plugins depend on this
 * file only (documented in README "Writing a plugin", and written out for
 * editors by `gateway plugin init` as gateway-plugin.d.ts), never on the
 * gateway's internals.
 */
import type { AccessEntry, Identity, RequestContext, UpstreamDraft } from "../context.ts";
import { reject } from "../respond.ts";

/** The shared registry's interface (src/metrics/registry.ts): a plugin's series are scraped with every worker's counts. */
export interface PluginCounter {
  inc(labelValues?: readonly string[], by?: number): void;
  /** The series for these label values, bound once (create()), so a hook pays no lookup. */
  labels(labelValues?: readonly string[]): { inc(by?: number): void };
}
export interface PluginGauge {
  set(labelValues: readonly string[] | undefined, v: number): void;
  inc(labelValues?: readonly string[], by?: number): void;
  labels(labelValues?: readonly string[]): { set(v: number): void; inc(by?: number): void };
}
export interface PluginHistogram {
  observe(labelValues: readonly string[] | undefined, seconds: number): void;
  labels(labelValues?: readonly string[]): { observe(seconds: number): void };
}
export interface PluginMetrics {
  counter(name: string, help: string, labelNames?: readonly string[]): PluginCounter;
  gauge(name: string, help: string, labelNames?: readonly string[]): PluginGauge;
  histogram(name: string, help: string, labelNames?: readonly string[], buckets?: readonly number[]): PluginHistogram;
}

/**
 * The stable, documented request view (view.ts): read-only, one per request
 * (the same object in every hook of that request). `params` and `identity`
 * are frozen copies: the gateway's own stay as the auth and routing left them.
 */
export interface PluginContext {
  readonly request: Request;
  readonly requestId: string;
  /** The matched route's name. */
  readonly route: string | null;
  readonly params: Readonly<Record<string, string>>;
  readonly clientIp: string;
  readonly identity: Readonly<Identity> | null;
}

/** What onError gets: the gateway's error (GatewayError, src/errors.ts), as JSON clients would see it plus its source. */
export interface PluginError {
  readonly kind: string;
  readonly status: number;
  readonly message: string;
  readonly source: "client" | "upstream" | "internal";
  readonly retryable: boolean;
}

export interface PluginLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface PluginApi {
  /** JSON lines on stderr carrying the plugin's name. */
  readonly logger: PluginLogger;
  /** Wall clock (ms since epoch) and a monotonic one (ms). */
  readonly clock: { now(): number; monotonic(): number };
  readonly metrics: PluginMetrics;
  /** The gateway's JSON error `{ error, message, request_id }` with `status`. */
  reject(ctx: PluginContext, status: number, error: string, message: string): Response;
}

/** The hooks a plugin's create() returns: the built-ins' (src/policies/types.ts Policy), over the view. */
export interface PluginHooks {
  /** Before the terminal; return a Response to answer now. May be async (bounded by the plugin's timeout). */
  onRequest?(ctx: PluginContext): Response | undefined | void | null | Promise<Response | undefined | void | null>;
  /** Before each upstream try: edit path, query, headers, body of the outgoing request. May be async. */
  onUpstreamRequest?(ctx: PluginContext, draft: UpstreamDraft): void | Promise<void>;
  /** On the way back: edit `res.headers` or return a replacement. May be async. */
  onResponse?(ctx: PluginContext, res: Response, body: Uint8Array | null): Response | undefined | void | null | Promise<Response | undefined | void | null>;
  /** The request failed (upstream down or timed out, a hook threw): return a Response to answer instead. Synchronous. */
  onError?(ctx: PluginContext, error: PluginError): Response | undefined | void | null;
  /** Last, for every request the plugin saw: add fields to the access-log entry. Synchronous. */
  onLog?(ctx: PluginContext, entry: AccessEntry): void;
  /** The config this instance was created for was replaced and its requests are done (or the gateway stops): release timers, sockets. */
  dispose?(): void;
}

/** The hook names create() may return; anything else is a load error (a typo would otherwise never run). */
export const HOOK_NAMES = ["onRequest", "onUpstreamRequest", "onResponse", "onError", "onLog", "dispose"] as const;

export interface PluginDefinition<Config = any> {
  readonly name: string;
  /** JSON Schema of the route's `config` (what TypeBox's Type.* produce). */
  readonly schema?: Record<string, unknown>;
  /** The recipe entry this plugin runs after; default: the `plugins` slot (after limits, before request transformation). */
  readonly after?: string;
  create(config: Config, api: PluginApi): PluginHooks | null | undefined | void;
}

const noopSeries = { inc() {}, set() {}, observe() {} };
const noop = { ...noopSeries, labels: () => noopSeries };
/** For a plugin created outside a worker (--check, unit tests): series are accepted and not exported. */
export const detachedMetrics: PluginMetrics = { counter: () => noop, gauge: () => noop, histogram: () => noop };

/** One line of the gateway's JSON log, from a plugin or about one. */
export function pluginLog(level: string, plugin: string, msg: string, fields?: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, plugin, msg, ...fields })}\n`);
}

export function pluginApi(plugin: string, metrics: PluginMetrics = detachedMetrics): PluginApi {
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) => pluginLog(level, plugin, String(msg), fields);
  return {
    logger: { info: log("info"), warn: log("warn"), error: log("error") },
    clock: { now: Date.now, monotonic: () => performance.now() },
    metrics,
    // reject() reads only the request id, which the view has.
    reject: (ctx, status, error, message) => reject(ctx as unknown as RequestContext, status, error, message),
  };
}
