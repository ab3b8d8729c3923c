/**
 * What a plugin sees: its definition's shape, the `api` handed to create(),
 * and the stable view of a request its hooks get. Plugins depend on this
 * file only (documented in README "Plugins"), never on the gateway's internals.
 */
import type { AccessEntry, Identity, RequestContext, UpstreamDraft } from "../context.ts";
import { reject } from "../respond.ts";

/** The shared registry's interface (src/metrics/registry.ts): a plugin's series are scraped with every worker's counts. */
export interface PluginCounter { inc(labelValues?: readonly string[], by?: number): void }
export interface PluginGauge { set(labelValues: readonly string[] | undefined, v: number): void; inc(labelValues?: readonly string[], by?: number): void }
export interface PluginHistogram { observe(labelValues: readonly string[] | undefined, seconds: number): void }
export interface PluginMetrics {
  counter(name: string, help: string, labelNames?: readonly string[]): PluginCounter;
  gauge(name: string, help: string, labelNames?: readonly string[]): PluginGauge;
  histogram(name: string, help: string, labelNames?: readonly string[], buckets?: readonly number[]): PluginHistogram;
}

/** The stable, documented request view: RequestContext has these members, so the real context is passed as is (no copy per request). */
export interface PluginContext {
  readonly request: Request;
  readonly requestId: string;
  /** The matched route's name. */
  readonly route: string | null;
  readonly params: Record<string, string>;
  readonly clientIp: string;
  readonly identity: Identity | null;
}

export interface PluginApi {
  readonly logger: { info(msg: string, fields?: Record<string, unknown>): void; warn(msg: string, fields?: Record<string, unknown>): void; error(msg: string, fields?: Record<string, unknown>): void };
  /** Wall clock (ms since epoch) and a monotonic one (ms). */
  readonly clock: { now(): number; monotonic(): number };
  readonly metrics: PluginMetrics;
  /** The gateway's JSON error `{ error, message, request_id }` with `status`. */
  reject(ctx: RequestContext, status: number, error: string, message: string): Response;
}

export interface PluginHooks {
  onRequest?(ctx: RequestContext): Response | undefined | void | Promise<Response | undefined | void>;
  onUpstreamRequest?(ctx: RequestContext, draft: UpstreamDraft): void | Promise<void>;
  onResponse?(ctx: RequestContext, res: Response, body: Uint8Array | null): Response | void | Promise<Response | void>;
  onLog?(ctx: RequestContext, entry: AccessEntry): void;
}

export interface PluginDefinition {
  readonly name: string;
  readonly schema?: Record<string, unknown>;
  /** The recipe entry this plugin runs after; default: the `plugins` slot (after limits, before request transformation). */
  readonly after?: string;
  create(config: unknown, api: PluginApi): PluginHooks | null | undefined;
}

const noop = { inc() {}, set() {}, observe() {} };
/** For a plugin created outside a worker (unit tests): series are accepted and not exported. */
export const detachedMetrics: PluginMetrics = { counter: () => noop, gauge: () => noop, histogram: () => noop };

export function pluginApi(plugin: string, metrics: PluginMetrics = detachedMetrics): PluginApi {
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    process.stderr.write(`${JSON.stringify({ level, plugin, msg, ...fields })}\n`);
  return {
    logger: { info: log("info"), warn: log("warn"), error: log("error") },
    clock: { now: Date.now, monotonic: () => performance.now() },
    metrics,
    reject: (ctx, status, error, message) => reject(ctx, status, error, message),
  };
}
