/**
 * Serves the gateway's data plane on the main thread so `bun --cpu-prof` sees
 * it (profiles do not cover worker threads):
 *   bun --cpu-prof --cpu-prof-dir=/tmp/prof bench/profile-proxy.ts CONFIG.toml
 * then load it (wrk) and stop it with Ctrl-C / SIGINT.
 */
import { loadConfig } from "../src/config/load.ts";
import { AccessLog } from "../src/data/access-log.ts";
import { ClientRegistry } from "../src/data/clients.ts";
import { createHandler, type ServeState } from "../src/data/handler.ts";
import { allocateShared } from "../src/data/shared.ts";
import { compileSnapshot } from "../src/data/snapshot.ts";
import { websocketHandler } from "../src/data/websocket/registry.ts";

const config = await loadConfig(process.argv[2] ?? "config.toml");
const snapshot = compileSnapshot(config, allocateShared(config, null), new ClientRegistry());
const state: ServeState = {
  snapshot,
  draining: false,
  log: config.server.access_log ? new AccessLog() : null,
};
const server = Bun.serve({ hostname: config.server.host, port: config.server.port, fetch: createHandler(state), websocket: websocketHandler });
state.server = server;
console.error(`profiling data plane on ${server.url}`);
process.on("SIGINT", () => process.exit(0));
