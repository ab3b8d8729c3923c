/**
 * The plugins' config types alone, so src/config/types.ts can name them
 * without importing the loader that config.ts uses to check them at load
 * (that would be an import cycle back through the request context).
 */
export interface PluginSpec {
  name: string;
  /** Absolute path of the module. */
  path: string;
  /** Budget (ms) of each of its hooks that returns a promise; 0: the route's timeout (its upstream's read timeout when the route sets none). */
  timeout: number;
}
export interface PluginsConfig {
  /** Absent when the file declares none (so configs without plugins look as before). */
  plugins?: PluginSpec[];
}
export interface PluginUse {
  name: string;
  config: Record<string, unknown>;
}
export interface PluginsRouteConfig {
  plugins?: PluginUse[];
}
