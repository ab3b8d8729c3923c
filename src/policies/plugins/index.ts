/**
 * Plugin slots of the recipe: `plugins` (the default slot: after limits,
 * before request transformation) and, via withPluginSlots(), one slot after
 * every other entry, for `after = "auth"`. A slot a route's plugins do not
 * name returns null from create(), so it costs the route nothing.
 */
import { metricsRegistry } from "../../metrics/registry.ts";
import type { RequestContext } from "../context.ts";
import { definePolicy, type Policy, type PolicyFactory } from "../types.ts";
import { pluginApi, type PluginContext, type PluginHooks } from "./api.ts";
import { normalizePluginRoute, normalizePluginSections, PLUGIN_ROUTE_KEYS, PLUGIN_SECTION_KEYS, verifyPlugins } from "./config.ts";
import { loadPlugin } from "./load.ts";

/** The stable view a plugin's hooks get (README "Plugins"), made once per request and plugin. */
const views = new WeakMap<RequestContext, PluginContext>();
function view(ctx: RequestContext): PluginContext {
  let v = views.get(ctx);
  if (!v) {
    v = { request: ctx.req, requestId: ctx.requestId, route: ctx.route?.name ?? null, params: ctx.params, clientIp: ctx.clientIp, identity: ctx.identity };
    views.set(ctx, v);
  }
  return v;
}

/** The route's plugins that run in `slot`, as policies. */
function slotPolicy(slot: string, isDefault: boolean, route: { plugins?: { name: string; config: Record<string, unknown> }[] }, config: { plugins?: { name: string; path: string }[] }): Policy | null {
  const hooks: { name: string; h: PluginHooks }[] = [];
  if (!route.plugins) return null;
  for (const use of route.plugins) {
    const spec = (config.plugins ?? []).find((p) => p.name === use.name);
    if (!spec) continue;
    const def = loadPlugin(spec.path);
    if (typeof def === "string") throw new Error(def);
    if ((def.after ?? "plugins") !== slot && !(isDefault && def.after === undefined)) continue;
    const h = (def.create as (c: unknown, a: unknown) => PluginHooks | null | undefined)(use.config, pluginApi(use.name, metricsRegistry()));
    if (h) hooks.push({ name: use.name, h });
  }
  if (hooks.length === 0) return null;
  const policyName = isDefault ? "plugins" : `plugins@${slot}`;
  if (hooks.length === 1) return asPolicy(policyName, hooks[0]!.h);
  return composite(policyName, hooks.map((x) => asPolicy(policyName, x.h)));
}

/** A plugin's hooks over the view; a throw becomes the runner's 500 JSON error with the plugin named in the log. */
function asPolicy(name: string, h: PluginHooks): Policy {
  const p: { -readonly [K in keyof Policy]: Policy[K] } = { name };
  if (h.onRequest) p.onRequest = (ctx) => (h.onRequest!(view(ctx) as never) ?? undefined) as Response | undefined;
  if (h.onUpstreamRequest) p.onUpstreamRequest = (ctx, d) => h.onUpstreamRequest!(view(ctx) as never, d);
  if (h.onResponse) p.onResponse = (ctx, res, body) => h.onResponse!(view(ctx) as never, res, body);
  if (h.onLog) p.onLog = (ctx, e) => h.onLog!(view(ctx) as never, e);
  return p as Policy;
}

/** Several plugins in one slot, in the route's order (response side reversed, like the recipe). */
function composite(name: string, list: Policy[]): Policy {
  return {
    name,
    async onRequest(ctx) {
      for (const p of list) {
        const r = await p.onRequest?.(ctx);
        if (r) return r;
      }
      return undefined;
    },
    async onUpstreamRequest(ctx, d) {
      for (const p of list) await p.onUpstreamRequest?.(ctx, d);
    },
    async onResponse(ctx, res, body) {
      let cur = res;
      for (let i = list.length - 1; i >= 0; i--) cur = (await list[i]!.onResponse?.(ctx, cur, body)) ?? cur;
      return cur;
    },
    onLog(ctx, e) {
      for (let i = list.length - 1; i >= 0; i--) list[i]!.onLog?.(ctx, e);
    },
  };
}

function slot(after: string): PolicyFactory<void> {
  return definePolicy<void>({ name: `plugins@${after}`, create: (route, _s, config) => slotPolicy(after, false, route, config) });
}

/** The default slot; owns the config keys and their checks. */
export const plugins = definePolicy<void>({
  name: "plugins",
  sectionKeys: PLUGIN_SECTION_KEYS,
  normalizeSections: (ctx, doc) => normalizePluginSections(ctx, doc),
  routeKeys: PLUGIN_ROUTE_KEYS,
  normalizeRoute: (ctx, raw) => normalizePluginRoute(ctx, raw),
  verify: (config, problems) => verifyPlugins(config, problems, slotNames),
  create: (route, _s, config) => (!route.plugins ? null : slotPolicy("plugins", true, route, config)),
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
