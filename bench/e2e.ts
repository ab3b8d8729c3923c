/**
 * End-to-end proxy bench: the same loopback upstream reached directly, through
 * the gateway (1 worker) and through nginx (1 worker, upstream keepalive), loaded
 * in alternating rounds by the same generator (wrk). Reports req/s, p50/p99 and
 * proxy CPU µs per request, and the gateway/nginx ratios from the same run.
 *
 *   bun bench/e2e.ts            # full: 6 rounds x 8 s, GET and POST 1 KiB
 *   bun bench/e2e.ts --quick    # < 1 minute: 2 rounds x 3 s, GET only
 *   options: --connections N (50), --targets N (1; 3 = three upstream targets
 *            behind both proxies), --rounds N, --seconds N,
 *            --source (run src/main.ts instead of ./gateway),
 *            --keepalive N (nginx upstream keepalive, 1024),
 *            --workers N (gateway workers = nginx worker_processes = wrk threads = N;
 *            above 1 nothing is pinned: run it for 1 and for N to see the scaling)
 *
 * Pinning: proxies on CPU 0, upstream and wrk on CPU 1 (taskset), when there
 * are at least 2 CPUs. Only 127.0.0.1 is ever loaded; every run is bounded.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { freePort } from "../test/helpers/ports.ts";
import { compare, dir, scale, killChildren, option, pin, postScript, requireTools, spawnChild, startNginxProxy, startStaticUpstream, waitPort } from "./lib.ts";

const ROOT = resolve(import.meta.dir, "..");
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const ROUNDS = Number(option(args, "rounds", quick ? "2" : "6"));
const SECONDS = Number(option(args, "seconds", quick ? "3" : "8"));
const CONNECTIONS = Number(option(args, "connections", "50"));
const TARGETS = Number(option(args, "targets", "1"));
const KEEPALIVE = Number(option(args, "keepalive", "1024"));
const SOURCE = args.includes("--source");
scale.workers = Number(option(args, "workers", "1"));
const SCENARIOS = quick ? ["GET"] : ["GET", "POST 1KiB"];

requireTools("nginx", "wrk");

const upstreamPorts: number[] = [];
for (let i = 0; i < TARGETS; i++) {
  const p = await freePort();
  upstreamPorts.push(p);
  await startStaticUpstream(p);
}

// nginx as the peer proxy: 1 worker, HTTP/1.1 keep-alive to the upstream, same headers set as the gateway.
const nginxPort = await freePort();
const nginxProc = await startNginxProxy(nginxPort, upstreamPorts, KEEPALIVE);

// The gateway, 1 worker, proxy only, same route, access log off like nginx's.
const gwPort = await freePort();
const gwConf = join(dir, "gateway.toml");
writeFileSync(
  gwConf,
  `[server]
listen = "127.0.0.1:${gwPort}"
workers = ${scale.workers}
access_log = false

[[upstreams]]
name = "backend"
targets = [${upstreamPorts.map((p) => `{ url = "http://127.0.0.1:${p}" }`).join(", ")}]

[[routes]]
name = "api"
path = "/api/*"
upstream = "backend"
strip_prefix = "/api"
`,
);
const gwCmd = SOURCE || !existsSync(join(ROOT, "gateway")) ? ["bun", join(ROOT, "src/main.ts")] : [join(ROOT, "gateway")];
const gwProc = spawnChild([...pin(0), ...gwCmd, "--config", gwConf]);
await waitPort(gwPort);

const targets = [
  { name: "direct", port: upstreamPorts[0]!, pid: null },
  { name: "gateway", port: gwPort, pid: gwProc.pid },
  { name: "nginx", port: nginxPort, pid: nginxProc.pid },
];
const lines = [
  `e2e bench ${new Date().toISOString()}: \`bun bench/e2e.ts ${args.join(" ")}\``,
  `${ROUNDS} rounds x ${SECONDS}s, ${CONNECTIONS} connections, ${TARGETS} upstream target(s), wrk -t${scale.workers}, nginx keepalive ${KEEPALIVE}, gateway ${gwCmd.length === 1 ? "binary" : "from source"}, ${scale.workers} worker(s) each, proxies pinned to CPU 0${pin(0).length ? "" : " (unpinned)"}`,
];
for (const scenario of SCENARIOS) {
  const { table, medians, samples } = await compare(targets, ROUNDS, {
    connections: CONNECTIONS,
    seconds: SECONDS,
    luaScript: scenario.startsWith("POST") ? postScript(1024) : undefined,
  });
  const g = medians.gateway!;
  const n = medians.nginx!;
  lines.push(
    "",
    `${scenario}:`,
    ...table,
    "",
    `gateway/nginx: throughput ${(g.rps / n.rps).toFixed(2)}x, p99 ${(g.p99 / n.p99).toFixed(2)}x, CPU/req ${(g.cpu / n.cpu).toFixed(2)}x` +
      ` (per-round throughput ratios: ${samples.gateway!.map((s, i) => (s.rps / samples.nginx![i]!.rps).toFixed(2)).join(" ")})`,
  );
}
console.log(lines.join("\n"));
killChildren();
process.exit(0);
