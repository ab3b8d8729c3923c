/**
 * A plugin's code can fail outside any hook: a timer callback that throws,
 * a promise nobody awaited (`fetch(...)` fired and forgotten). Bun ends the
 * worker on those, with every request in flight on it. In a worker that runs
 * plugins, such a failure whose stack names a plugin file (or any unhandled
 * rejection, which often has no plugin frame: a failed fetch) is logged,
 * counted as gateway_plugin_errors_total{hook="background"}, and the worker
 * goes on. Anything else is thrown again: the gateway's own bugs still
 * end the worker, which the control plane replaces, as before.
 */
import { isMainThread } from "node:worker_threads";
import { metricsRegistry } from "../../metrics/registry.ts";
import { pluginLog } from "./api.ts";
import { loadedPlugins } from "./load.ts";

let installed = false;

function owner(e: unknown): string | null {
  const stack = e instanceof Error ? (e.stack ?? "") : "";
  for (const [path, name] of loadedPlugins()) if (stack.includes(path)) return name;
  return null;
}

function report(plugin: string, reason: string, e: unknown): void {
  const err = e instanceof Error ? e : new Error(String(e));
  pluginLog("error", plugin, `plugin ${reason} outside a hook`, { hook: "background", reason, error: err.message, stack: err.stack });
  metricsRegistry()
    .counter("gateway_plugin_errors_total", "Plugin hook faults: threw, rejected, timeout, invalid (a return value that is not a Response)", ["plugin", "hook", "reason"])
    .inc([plugin, "background", reason]);
}

/** Once per worker, when it first creates a plugin's hooks. Not in the main thread (tests, --check): its defaults stay. */
export function containBackgroundFaults(): void {
  if (installed || isMainThread) return;
  installed = true;
  process.on("uncaughtException", (e) => {
    const plugin = owner(e);
    if (plugin === null) throw e;
    report(plugin, "threw", e);
  });
  process.on("unhandledRejection", (e) => report(owner(e) ?? "unknown", "rejected", e));
}
