#!/usr/bin/env bun
/**
 * ./gateway --config config.toml [--check] | --version | --help
 * Exit codes: 0 ok, 1 bad config or failed start, 2 bad command line.
 */
import { loadConfig } from "./config/load.ts";
import { ConfigError } from "./errors.ts";
import { startGateway } from "./control/gateway.ts";
import { COMMIT, VERSION } from "./version.ts";

const HELP = `gateway ${VERSION}: a Bun-native API gateway

Usage:
  gateway [--config FILE]          run (default FILE: ./config.toml)
  gateway --config FILE --check    validate FILE, print every problem, exit 0 or 1
  gateway bench [--config FILE] [--stub] [--faults] ...
                                   measure the routes against their latency budgets (gateway bench --help)
  gateway plugin init NAME [--dir DIR]
                                   write a starter plugin DIR/NAME.ts and its types (DIR: ./plugins)
  gateway --version                print the version and the git commit
  gateway --help                   this text

Signals: SIGHUP reloads the config (a bad one is rejected, the running one
stays); SIGTERM or SIGINT stops accepting, finishes in-flight requests up to
server.drain_timeout, and exits 0.`;

interface Args {
  config: string;
  check: boolean;
}

function parseArgs(argv: string[]): Args | { exit: number; out?: string; err?: string } {
  const args: Args = { config: "config.toml", check: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--help" || a === "-h") return { exit: 0, out: HELP };
    if (a === "--version" || a === "-v") return { exit: 0, out: `gateway ${VERSION} (commit ${COMMIT})` };
    if (a === "--check") args.check = true;
    else if (a === "--config" || a === "-c") {
      const v = argv[++i];
      if (!v) return { exit: 2, err: "gateway: --config needs a file path" };
      args.config = v;
    } else if (a.startsWith("--config=")) args.config = a.slice("--config=".length);
    else return { exit: 2, err: `gateway: unknown argument "${a}" (see --help)` };
  }
  return args;
}

function fail(e: unknown): never {
  if (e instanceof ConfigError) console.error(`gateway: invalid config: ${e.message}`);
  else console.error(`gateway: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}

if (process.argv[2] === "bench") {
  const { benchMain } = await import("./bench/cli.ts");
  process.exit(await benchMain(process.argv.slice(3)));
}
if (process.argv[2] === "bench-stub") {
  // The stub upstream of `gateway bench --stub` (src/bench/stub.ts): serves until killed.
  const { stubMain } = await import("./bench/stub.ts");
  const code = stubMain(process.argv.slice(3));
  if (code !== 0) process.exit(code);
  await new Promise<never>(() => {}); // the server keeps the process alive; nothing below runs
}
if (process.argv[2] === "plugin") {
  const { pluginCommand } = await import("./policies/plugins/cli.ts");
  process.exit(pluginCommand(process.argv.slice(3)));
}

const parsed = parseArgs(process.argv.slice(2));
if ("exit" in parsed) {
  if (parsed.out) console.log(parsed.out);
  if (parsed.err) console.error(parsed.err);
  process.exit(parsed.exit);
}

if (parsed.check) {
  try {
    const c = await loadConfig(parsed.config);
    console.log(`config OK: ${c.routes.length} routes, ${c.upstreams.length} upstreams, ${c.server.workers} workers`);
    process.exit(0);
  } catch (e) {
    fail(e);
  }
}

const gateway = await startGateway(parsed.config).catch(fail);
const cfg = gateway.config.server;
console.error(
  JSON.stringify({
    time: new Date().toISOString(),
    level: "info",
    msg: "gateway listening",
    url: `${cfg.tls ? "https" : "http"}://${cfg.host.includes(":") ? `[${cfg.host}]` : cfg.host}:${gateway.port}`,
    workers: cfg.workers,
    version: VERSION,
    admin: gateway.adminPort === null ? null : `http://${gateway.config.admin!.host}:${gateway.adminPort}`,
    metrics: gateway.metricsPort === null ? null : `http://${gateway.config.metrics!.host}:${gateway.metricsPort}${gateway.config.metrics!.path}`,
  }),
);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.error(JSON.stringify({ time: new Date().toISOString(), level: "info", msg: "draining", signal }));
  await gateway.shutdown();
  console.error(JSON.stringify({ time: new Date().toISOString(), level: "info", msg: "stopped" }));
  process.exit(0);
};
process.on("SIGTERM", () => void stop("SIGTERM"));
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGHUP", () => void gateway.reload());
