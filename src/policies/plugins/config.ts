/**
 * `[[plugins]] name, path` (path relative to the config file) and per route
 * `plugins = [{ name, config }]`. The modules are loaded at config load
 * (--check, start, reload) so a missing file, a syntax error or a config the
 * plugin's schema refuses fails the load with its key path.
 */
import { Type } from "@sinclair/typebox";
import { isAbsolute, resolve } from "node:path";
import type { NormalizeContext } from "../../config/normalize-common.ts";
import type { KeyPath, Problems } from "../../config/problems.ts";
import { Duration, NonEmpty, opt, table } from "../../config/schema-kit.ts";
import { parseDuration } from "../../config/units.ts";
import { checkJsonSchema } from "./json-schema.ts";
import { loadPlugin, tryCreate } from "./load.ts";

export const PLUGIN_SECTION_KEYS = {
  plugins: opt(Type.Array(table({ name: NonEmpty, path: NonEmpty, timeout: opt(Duration) }), { errorMessage: "expected a list of plugin tables" })),
};
export const PLUGIN_ROUTE_KEYS = {
  plugins: opt(
    Type.Array(table({ name: NonEmpty, config: opt(Type.Record(Type.String(), Type.Unknown(), { errorMessage: "expected a table" })) }), {
      errorMessage: "expected a list of plugin tables",
    }),
  ),
};

export type { PluginSpec, PluginsConfig, PluginUse, PluginsRouteConfig } from "./config-types.ts";
import type { PluginSpec, PluginsConfig, PluginsRouteConfig } from "./config-types.ts";

export function normalizePluginSections(ctx: NormalizeContext, doc: Record<string, unknown>): PluginsConfig {
  const raw = Array.isArray(doc.plugins) ? (doc.plugins as { name?: unknown; path?: unknown; timeout?: unknown }[]) : [];
  const out: PluginSpec[] = [];
  raw.forEach((p, i) => {
    if (typeof p?.name !== "string" || typeof p.path !== "string") return;
    if (out.some((o) => o.name === p.name)) ctx.problems.add(["plugins", i, "name"], `duplicate plugin name ${JSON.stringify(p.name)}`);
    const path = isAbsolute(p.path) ? p.path : resolve(ctx.configDir, p.path);
    const def = loadPlugin(path);
    if (typeof def === "string") ctx.problems.add(["plugins", i, "path"], def);
    const timeout = typeof p.timeout === "string" ? parseDuration(p.timeout) : 0;
    if (typeof p.timeout === "string" && timeout <= 0) ctx.problems.add(["plugins", i, "timeout"], "expected a duration above 0");
    out.push({ name: p.name, path, timeout });
  });
  return out.length === 0 ? {} : { plugins: out };
}

export function normalizePluginRoute(_ctx: NormalizeContext, raw: Record<string, unknown>): PluginsRouteConfig {
  const list = Array.isArray(raw.plugins) ? (raw.plugins as { name?: unknown; config?: unknown }[]) : [];
  if (list.length === 0) return {};
  return {
    plugins: list
      .filter((u) => typeof u?.name === "string")
      .map((u) => ({ name: u.name as string, config: (u.config ?? {}) as Record<string, unknown> })),
  };
}

/** Every route's plugin uses: a declared plugin, and a config its schema accepts. */
export function verifyPlugins(config: { routes: readonly PluginsRouteConfig[]; plugins?: PluginSpec[] }, problems: Problems, slotNames: readonly string[]): void {
  config.routes.forEach((route, r) => {
    (route.plugins ?? []).forEach((use, j) => {
      const at: KeyPath = ["routes", r, "plugins", j];
      const spec = (config.plugins ?? []).find((p) => p.name === use.name);
      if (!spec) return problems.add([...at, "name"], `no [[plugins]] entry named ${JSON.stringify(use.name)}`);
      const def = loadPlugin(spec.path);
      if (typeof def === "string") return; // reported under plugins[i].path
      if (def.after !== undefined && !slotNames.includes(def.after)) {
        problems.add([...at, "name"], `plugin ${JSON.stringify(use.name)} asks to run after ${JSON.stringify(def.after)}, which is not a recipe entry`);
      }
      if (def.schema && !checkJsonSchema(def.schema, use.config, [...at, "config"], problems)) return;
      // create() once here, as the workers will: one that throws or returns no hooks fails the load, not a worker.
      const bad = tryCreate(def, use.config);
      if (bad !== null) problems.add(at, bad);
    });
  });
}
