/**
 * Loading a plugin module from disk: `require()` of a .ts file, which Bun
 * (and a compiled ./gateway) transpiles at run time, synchronously, so the
 * config load (sync) and a worker's snapshot compile (sync) can both use it.
 * Modules are kept per (path, mtime): a changed file is loaded again as a new
 * module instance on reload, while the old instance serves in-flight requests.
 */
import { statSync } from "node:fs";
/** What load needs of a definition (api.ts has the full, documented type; kept apart so config/ does not reach policies/context.ts). */
export interface PluginDefinition {
  readonly name: string;
  readonly schema?: Record<string, unknown>;
  readonly after?: string;
  create(config: never, api: never): unknown;
}

const loaded = new Map<string, { mtimeMs: number; size: number; def: PluginDefinition }>();

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
