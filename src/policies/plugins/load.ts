/**
 * Loading a plugin module from disk: `require()` of a .ts file, which Bun
 * (and a compiled ./gateway) transpiles at run time, synchronously, so the
 * config load (sync) and a worker's snapshot compile (sync) can both use it.
 * Modules are kept per (path, mtime): a changed file is loaded again as a new
 * module instance on reload, while the old instance serves in-flight requests.
 */
import { statSync } from "node:fs";
import { detachedMetrics, HOOK_NAMES, pluginApi } from "./api.ts";
import { registerPluginModule } from "./module.ts";

/** What load needs of a definition (api.ts has the full, documented type). */
export interface PluginDefinition {
  readonly name: string;
  readonly schema?: Record<string, unknown>;
  readonly after?: string;
  create(config: never, api: never): unknown;
}

const loaded = new Map<string, { mtimeMs: number; size: number; def: PluginDefinition }>();

/** [absolute path, definition name] of every module loaded in this thread (background.ts names a fault's plugin by its stack). */
export function loadedPlugins(): [string, string][] {
  return [...loaded].map(([path, v]) => [path, v.def.name]);
}

/** The plugin's definition, or why it cannot be used (the message goes under the [[plugins]] entry's `path`). */
export function loadPlugin(absolute: string): PluginDefinition | string {
  let stat: { mtimeMs: number; size: number };
  try {
    stat = statSync(absolute);
  } catch (e) {
    return `cannot read ${absolute}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
  }
  const hit = loaded.get(absolute);
  if (hit && hit.mtimeMs === stat.mtimeMs && hit.size === stat.size) return hit.def;
  registerPluginModule();
  // A new module instance: the old one stays alive for whoever holds it.
  delete require.cache[absolute];
  let mod: Record<string, unknown>;
  try {
    mod = require(absolute);
  } catch (e) {
    return `failed to load ${absolute}: ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    delete require.cache[absolute];
  }
  const def = (mod.default ?? mod.plugin ?? mod) as Partial<PluginDefinition>;
  const bad = checkDefinition(def);
  if (bad !== null) return `${absolute}: ${bad}`;
  loaded.set(absolute, { mtimeMs: stat.mtimeMs, size: stat.size, def: def as PluginDefinition });
  return def as PluginDefinition;
}

function checkDefinition(def: Partial<PluginDefinition>): string | null {
  if (typeof def !== "object" || def === null) return "the module must export a plugin definition (export default { name, create })";
  if (typeof def.name !== "string" || def.name === "") return "the definition needs a non-empty string `name`";
  if (typeof def.create !== "function") return "the definition needs a function `create(config, api)`";
  if (def.schema !== undefined && (typeof def.schema !== "object" || def.schema === null)) return "`schema` must be a JSON Schema object";
  if (def.after !== undefined && typeof def.after !== "string") return "`after` must be the name of a recipe entry";
  return null;
}

/** Why what create() returned cannot serve as hooks, or null: nothing (the route does without), or an object of known hook functions. */
export function checkHooks(hooks: unknown): string | null {
  if (hooks === null || hooks === undefined) return null;
  if (typeof hooks !== "object") return `create() returned ${typeof hooks}; expected an object of hooks (onRequest, onResponse, ...) or null`;
  for (const key of Object.keys(hooks)) {
    if (!(HOOK_NAMES as readonly string[]).includes(key)) return `create() returned an unknown hook ${JSON.stringify(key)} (hooks: ${HOOK_NAMES.join(", ")})`;
    if (typeof (hooks as Record<string, unknown>)[key] !== "function") return `create() returned ${key} that is not a function`;
  }
  return null;
}

/**
 * create() once with the route's config, at config load (main thread), then
 * dispose() of what it made: a create() that throws or returns something
 * unusable fails --check, start and reload with the route's key path instead
 * of a worker. Its series go nowhere (the workers' own create() registers them).
 */
export function tryCreate(def: PluginDefinition, config: unknown): string | null {
  let hooks: unknown;
  try {
    hooks = (def.create as (c: unknown, a: unknown) => unknown)(config, pluginApi(def.name, detachedMetrics));
  } catch (e) {
    return `create() threw: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (hooks instanceof Promise) return "create() returned a promise; it must return the hooks synchronously (start async work inside the hooks)";
  const bad = checkHooks(hooks);
  if (bad !== null) return bad;
  try {
    (hooks as { dispose?: () => void } | null)?.dispose?.();
  } catch (e) {
    return `dispose() threw: ${e instanceof Error ? e.message : String(e)}`;
  }
  return null;
}
