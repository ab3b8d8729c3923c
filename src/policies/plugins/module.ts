/**
 * `import { Type, definePlugin } from "gateway:plugin"` in a plugin file:
 * a virtual module registered with Bun's runtime plugin API in every thread
 * that loads plugins (the main thread for --check and reload, each worker),
 * so it resolves in the compiled ./gateway with nothing on disk. `Type` is
 * the TypeBox the gateway's own config schema is built with; definePlugin is
 * the identity, there for the editor (gateway-plugin.d.ts types it so the
 * config parameter is inferred from the schema). `import type` lines are
 * erased by the transpiler and need nothing at run time.
 */
import { Type } from "@sinclair/typebox";
import { VERSION } from "../../version.ts";

export const PLUGIN_MODULE = "gateway:plugin";

let registered = false;

export function registerPluginModule(): void {
  if (registered) return;
  registered = true;
  const exports = { Type, definePlugin: <T>(definition: T): T => definition, version: VERSION };
  Bun.plugin({
    name: PLUGIN_MODULE,
    setup(build) {
      build.module(PLUGIN_MODULE, () => ({ exports, loader: "object" }));
    },
  });
}
