/**
 * `gateway plugin init NAME [--dir DIR]`: a starter plugin DIR/NAME.ts and
 * DIR/gateway-plugin.d.ts, the plugin types (the same file the gateway's
 * own typecheck includes), so an editor type-checks the plugin with no
 * package install. DIR defaults to ./plugins, where the README's config
 * looks (`path = "plugins/NAME.ts"`).
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
// The text of the declaration file (tsc sees the file itself as the ambient "gateway:plugin" module, not as this import).
// @ts-ignore TS2306/TS2846: a .d.ts imported as text
import TYPES from "./gateway-plugin.d.ts" with { type: "text" };

export const TYPES_FILE = "gateway-plugin.d.ts";

export function starterPlugin(name: string): string {
  return `/// <reference path="./${TYPES_FILE}" />
// A gateway plugin (README "Writing a plugin"). Enable it in config.toml:
//   [[plugins]]
//   name = "${name}"
//   path = "plugins/${name}.ts"
// and on a route:
//   plugins = [{ name = "${name}", config = { header = "x-${name}" } }]
import { definePlugin, Type } from "gateway:plugin";

export default definePlugin({
  name: "${name}",
  // The route's \`config\` table, checked at load: a bad value is reported with its key path.
  schema: Type.Object({ header: Type.String({ minLength: 1 }), value: Type.Optional(Type.String()) }, { additionalProperties: false }),
  create(config, api) {
    const seen = api.metrics.counter("${name.replace(/[^a-zA-Z0-9_]/g, "_")}_requests_total", "Requests the ${name} plugin saw", ["route"]);
    return {
      onRequest(ctx) {
        seen.inc([ctx.route ?? ""]);
        if (ctx.request.headers.get(config.header) === "deny") return api.reject(ctx, 403, "forbidden", "denied by ${name}");
      },
      onResponse(_ctx, res) {
        res.headers.set(config.header, config.value ?? "${name}");
      },
    };
  },
});
`;
}

/** Writes the two files; the lines to print, or an error. The types file is always rewritten (it belongs to this gateway version); the plugin never is. */
export function initPlugin(name: string, dir = "plugins", cwd = process.cwd()): { ok: true; lines: string[] } | { ok: false; error: string } {
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(name)) return { ok: false, error: `plugin name ${JSON.stringify(name)}: expected letters, digits, "_" or "-", starting with a letter` };
  const at = resolve(cwd, dir);
  const file = join(at, `${name}.ts`);
  if (existsSync(file)) return { ok: false, error: `${file} already exists` };
  mkdirSync(at, { recursive: true });
  writeFileSync(join(at, TYPES_FILE), TYPES);
  writeFileSync(file, starterPlugin(name));
  const rel = relative(cwd, file) || file;
  return {
    ok: true,
    lines: [`wrote ${rel} and ${relative(cwd, join(at, TYPES_FILE))}`, "add to config.toml:", "[[plugins]]", `name = "${name}"`, `path = "${rel}"`],
  };
}
