/**
 * Plugin slots of the recipe: `plugins` (the default slot: after limits,
 * before request transformation) and, via withPluginSlots(), one slot after
 * every other entry, for `after = "auth"`. A slot a route's plugins do not
 * name returns null from create(), so it costs the route nothing: no hook in
 * its chain, not even a check.
 *
 * Lifecycle: each worker calls a plugin's create() once per route that uses
 * it and per snapshot (start, every reload); the hooks' dispose() runs when
 * that snapshot is retired (its in-flight requests done) or the worker stops.
 */
import type { GatewayConfig, RouteConfig } from "../../config/types.ts";
import { metricsRegistry } from "../../metrics/registry.ts";
import { definePolicy, type Policy, type PolicyFactory } from "../types.ts";
import { pluginApi, pluginLog, type PluginHooks } from "./api.ts";
import { normalizePluginRoute, normalizePluginSections, PLUGIN_ROUTE_KEYS, PLUGIN_SECTION_KEYS, verifyPlugins } from "./config.ts";
import { containBackgroundFaults } from "./background.ts";
import { guardedPolicy } from "./guard.ts";
import { checkHooks, loadPlugin } from "./load.ts";

/** Per slot and snapshot: the hooks its routes' create() calls made, for dispose(). */
interface SlotSetup {
  readonly made: { plugin: string; hooks: PluginHooks }[];
}

/** The budget of a plugin's async hooks on this route: its own `timeout`, else the route's, else its upstream's read timeout. */
function budget(spec: { timeout: number }, route: RouteConfig, config: GatewayConfig): number {
  if (spec.timeout > 0) return spec.timeout;
  if (route.timeout > 0) return route.timeout;
  return config.upstreams.find((u) => u.name === route.upstream)?.timeouts.read ?? 30_000;
}

/** The route's plugins that run in `slot`, as one policy. */
function slotPolicy(slot: string, route: RouteConfig, config: GatewayConfig, setup: SlotSetup): Policy | null {
  if (!route.plugins) return null;
  const policyName = slot === "plugins" ? "plugins" : `plugins@${slot}`;
  const metrics = metricsRegistry();
  const errors = metrics.counter("gateway_plugin_errors_total", "Plugin hook faults: threw, rejected, timeout, invalid (a return value that is not a Response)", ["plugin", "hook", "reason"]);
  const list: Policy[] = [];
  for (const use of route.plugins) {
    const spec = (config.plugins ?? []).find((p) => p.name === use.name);
    if (!spec) continue;
    const def = loadPlugin(spec.path);
    if (typeof def === "string") throw new Error(def);
    if ((def.after ?? "plugins") !== slot) continue;
    let hooks: unknown;
    try {
      hooks = (def.create as (c: unknown, a: unknown) => unknown)(use.config, pluginApi(use.name, metrics));
    } catch (e) {
      throw new Error(`plugin ${JSON.stringify(use.name)} on route ${JSON.stringify(route.name)}: create() threw: ${e instanceof Error ? e.message : String(e)}`);
    }
    const bad = checkHooks(hooks);
    if (bad !== null) throw new Error(`plugin ${JSON.stringify(use.name)} on route ${JSON.stringify(route.name)}: ${bad}`);
    if (!hooks) continue;
    containBackgroundFaults();
    setup.made.push({ plugin: use.name, hooks: hooks as PluginHooks });
    const env = { plugin: use.name, timeoutMs: budget(spec, route, config), ridHeader: config.server.request_id_header, errors };
    list.push(guardedPolicy(policyName, hooks as PluginHooks, env));
  }
  if (list.length === 0) return null;
  return list.length === 1 ? list[0]! : composite(policyName, list);
}

/**
 * Several plugins in one slot, in the route's order (response side reversed,
 * like the recipe). Synchronous while the hooks are: a promise only once one
 * returns one.
 */
function composite(name: string, list: Policy[]): Policy {
  const req = list.filter((p) => p.onRequest);
  const up = list.filter((p) => p.onUpstreamRequest);
  const resp = list.filter((p) => p.onResponse).reverse();
  const err = list.filter((p) => p.onError).reverse();
  const log = list.filter((p) => p.onLog).reverse();
  const p: { -readonly [K in keyof Policy]: Policy[K] } = { name };
  if (req.length > 0) {
    const rest = async (ctx: Parameters<NonNullable<Policy["onRequest"]>>[0], from: number, pending: Promise<Response | undefined>) => {
      const first = await pending;
      if (first) return first;
      for (let i = from + 1; i < req.length; i++) {
        const r = await req[i]!.onRequest!(ctx);
        if (r) return r;
      }
      return undefined;
    };
    p.onRequest = (ctx) => {
      for (let i = 0; i < req.length; i++) {
        const r = req[i]!.onRequest!(ctx);
        if (r instanceof Promise) return rest(ctx, i, r);
        if (r) return r;
      }
      return undefined;
    };
  }
  if (up.length > 0) {
    p.onUpstreamRequest = async (ctx, d) => {
      for (const x of up) await x.onUpstreamRequest!(ctx, d);
    };
  }
  if (resp.length > 0) {
    const rest = async (ctx: Parameters<NonNullable<Policy["onResponse"]>>[0], from: number, cur: Response, body: Uint8Array | null, pending: Promise<Response | void>) => {
      cur = (await pending) ?? cur;
      for (let i = from + 1; i < resp.length; i++) cur = (await resp[i]!.onResponse!(ctx, cur, body)) ?? cur;
      return cur;
    };
    p.onResponse = (ctx, res, body) => {
      let cur = res;
      for (let i = 0; i < resp.length; i++) {
        const r = resp[i]!.onResponse!(ctx, cur, body);
        if (r instanceof Promise) return rest(ctx, i, cur, body, r);
        if (r) cur = r;
      }
      return cur === res ? undefined : cur;
    };
  }
  if (err.length > 0) {
    p.onError = (ctx, e) => {
      for (const x of err) {
        const r = x.onError!(ctx, e);
        if (r) return r;
      }
      return undefined;
    };
  }
  if (log.length > 0) p.onLog = (ctx, e) => log.forEach((x) => x.onLog!(ctx, e));
  return p as Policy;
}

function disposeSlot(setup: SlotSetup): void {
  for (const { plugin, hooks } of setup.made.splice(0)) {
    try {
      hooks.dispose?.();
    } catch (e) {
      pluginLog("error", plugin, "plugin dispose() failed", { error: e instanceof Error ? e.message : String(e), stack: (e as Error)?.stack });
    }
  }
}

function slot(after: string): PolicyFactory<SlotSetup> {
  return definePolicy<SlotSetup>({
    name: `plugins@${after}`,
    setup: () => ({ made: [] }),
    create: (route, setup, config) => slotPolicy(after, route, config, setup),
    dispose: disposeSlot,
  });
}

/** The default slot; owns the config keys and their checks. */
export const plugins = definePolicy<SlotSetup>({
  name: "plugins",
  sectionKeys: PLUGIN_SECTION_KEYS,
  normalizeSections: (ctx, doc) => normalizePluginSections(ctx, doc),
  routeKeys: PLUGIN_ROUTE_KEYS,
  normalizeRoute: (ctx, raw) => normalizePluginRoute(ctx, raw),
  verify: (config, problems) => verifyPlugins(config, problems, slotNames),
  setup: () => ({ made: [] }),
  create: (route, setup, config) => slotPolicy("plugins", route, config, setup),
  dispose: disposeSlot,
});

let slotNames: readonly string[] = ["plugins"];

/** The recipe with a plugin slot after each entry, so placement by name survives entries being added. */
export function withPluginSlots(recipe: readonly PolicyFactory<any>[]): PolicyFactory<any>[] {
  const out: PolicyFactory<any>[] = [];
  for (const f of recipe) {
    out.push(f);
    if (f !== plugins) out.push(slot(f.name));
  }
  slotNames = recipe.map((f) => f.name);
  return out;
}
