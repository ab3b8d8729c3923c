/**
 * The response cache end to end (issue 10 bench): the gateway's cache HITs
 * against nginx `proxy_cache` HITs on the same run, and what a MISS costs
 * over the same route without cache. One loopback upstream (nginx, a 1 KiB
 * body, no Cache-Control: both caches keep it by their route setting, the
 * gateway's `cache = { ttl = "1h" }`, nginx's `proxy_cache_valid 200 1h`),
 * loaded in alternating rounds by wrk.
 *
 *   HIT  (one URL, stored once): gateway-hit, nginx-hit, and gateway-proxy
 *        (the same route on a gateway with no [cache] at all: what a HIT saves)
 *   MISS (a new URL on every request, from a wrk script: lookup, fill, store,
 *        evictions once the arena is full): gateway-miss vs gateway-proxy,
 *        nginx-miss vs nginx-proxy
 *
 *   bun bench/cache.ts [--quick] [--rounds N] [--seconds N] [--connections N] [--source] [--ref REF]
 *
 * --ref REF adds the cached route on a gateway run from source at git ref REF
 * (checked out under .bench-tmp/) to both tables: before/after in one run.
 *
 * 1 worker each (gateway workers, nginx worker_processes), pinned to CPU 0;
 * upstream and wrk on CPU 1. Only 127.0.0.1, every run bounded.
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { freePort } from "../test/helpers/ports.ts";
import { checkout } from "./handler-kit.ts";
import { compare, dir, killChildren, nginxConf, option, pin, requireTools, spawnChild, waitPort } from "./lib.ts";

const ROOT = resolve(import.meta.dir, "..");
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const ROUNDS = Number(option(args, "rounds", quick ? "2" : "4"));
const SECONDS = Number(option(args, "seconds", quick ? "3" : "5"));
const CONNECTIONS = Number(option(args, "connections", "50"));
const SOURCE = args.includes("--source");
const REF = option(args, "ref", "");
const BODY = "x".repeat(1024);

requireTools("nginx", "wrk");

// The upstream: nginx on CPU 1, a 1 KiB body.
const upstreamPort = await freePort();
spawnChild([
  ...pin(1),
  "nginx",
  "-c",
  nginxConf(upstreamPort, `server { listen 127.0.0.1:${upstreamPort} reuseport; keepalive_requests 1000000; location / { default_type application/json; return 200 '${BODY}'; } }`),
]);
await waitPort(upstreamPort);

// nginx's workers run as nobody (the master as root): they must reach the cache directory.
chmodSync(dir, 0o755);
mkdirSync(join(dir, "nginx-cache"));
chmodSync(join(dir, "nginx-cache"), 0o777);

// nginx as the peer: one worker, keep-alive upstream, the forwarding headers the gateway sets; /cached/ with proxy_cache.
const nginxPort = await freePort();
const forward = `proxy_pass http://backend/; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme; proxy_set_header X-Forwarded-Host $http_host;`;
const nginxProc = spawnChild([
  ...pin(0),
  "nginx",
  "-c",
  nginxConf(
    nginxPort,
    `upstream backend { server 127.0.0.1:${upstreamPort}; keepalive 1024; }
  proxy_cache_path ${dir}/nginx-cache levels=1:2 keys_zone=bench:16m max_size=256m inactive=1h use_temp_path=off;
  server { listen 127.0.0.1:${nginxPort}; keepalive_requests 1000000;
    location /api/ { ${forward} }
    location /cached/ { ${forward} proxy_cache bench; proxy_cache_valid 200 1h; proxy_cache_lock on; add_header Cache-Status $upstream_cache_status; } }`,
  ),
]);
await waitPort(nginxPort);

// Two gateways: the route with cache, and the same route on a config with no [cache] (what the MISS is compared with).
const gwCmd = SOURCE || !existsSync(join(ROOT, "gateway")) ? ["bun", join(ROOT, "src/main.ts")] : [join(ROOT, "gateway")];
async function gateway(name: string, route: string, extra: string, cmd = gwCmd): Promise<{ port: number; pid: number }> {
  const port = await freePort();
  const conf = join(dir, `${name}.toml`);
  writeFileSync(
    conf,
    `[server]
listen = "127.0.0.1:${port}"
workers = 1
access_log = false
${extra}
[[upstreams]]
name = "backend"
targets = [{ url = "http://127.0.0.1:${upstreamPort}" }]

[[routes]]
name = "api"
path = "/api/*"
upstream = "backend"
strip_prefix = "/api"
${route}
`,
  );
  const proc = spawnChild([...pin(0), ...cmd, "--config", conf]);
  await waitPort(port);
  return { port, pid: proc.pid };
}
const cached = await gateway("gw-cache", 'cache = { ttl = "1h" }', '[cache]\nsize = "256MB"');
const plain = await gateway("gw-plain", "", "");
const before = REF === "" ? null : await gateway("gw-ref", 'cache = { ttl = "1h" }', '[cache]\nsize = "256MB"', ["bun", join(checkout(REF), "src/main.ts")]);

// Both caches hold the HIT URL before the rounds, and say so.
const hitPath = "/api/hit";
const check = async (port: number, path: string, field: string, want: RegExp) => {
  for (let i = 0; i < 3; i++) await fetch(`http://127.0.0.1:${port}${path}`).then((r) => r.arrayBuffer());
  const got = (await fetch(`http://127.0.0.1:${port}${path}`)).headers.get(field) ?? "";
  if (!want.test(got)) throw new Error(`${port}${path}: ${field} is "${got}", not a hit`);
};
await check(cached.port, hitPath, "cache-status", /; hit/);
await check(nginxPort, "/cached/hit", "cache-status", /^HIT$/);
if (before !== null) await check(before.port, hitPath, "cache-status", /; hit/);

// A new URL per request: a per-process random prefix and a counter, so no round repeats another's URLs.
const missScript = (prefix: string) => {
  const path = join(dir, `miss-${prefix.replaceAll("/", "")}.lua`);
  writeFileSync(
    path,
    `local counter = 0
local run = ""
init = function(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
  run = tostring(math.random(1, 1000000000))
end
request = function()
  counter = counter + 1
  return wrk.format(nil, "${prefix}" .. run .. "-" .. counter)
end
`,
  );
  return path;
};

const load = { connections: CONNECTIONS, seconds: SECONDS };
const hit = await compare(
  [
    { name: "gateway-hit", port: cached.port, pid: cached.pid, path: hitPath },
    { name: "nginx-hit", port: nginxPort, pid: nginxProc.pid, path: "/cached/hit" },
    { name: "gateway-proxy", port: plain.port, pid: plain.pid, path: hitPath },
    ...(before === null ? [] : [{ name: `gateway-hit@${REF}`, port: before.port, pid: before.pid, path: hitPath }]),
  ],
  ROUNDS,
  load,
);
const miss = await compare(
  [
    { name: "gateway-miss", port: cached.port, pid: cached.pid, luaScript: missScript("/api/m/") },
    { name: "gateway-proxy", port: plain.port, pid: plain.pid, luaScript: missScript("/api/m/") },
    { name: "nginx-miss", port: nginxPort, pid: nginxProc.pid, luaScript: missScript("/cached/m/") },
    { name: "nginx-proxy", port: nginxPort, pid: nginxProc.pid, luaScript: missScript("/api/m/") },
    ...(before === null ? [] : [{ name: `gateway-miss@${REF}`, port: before.port, pid: before.pid, luaScript: missScript("/api/m/") }]),
  ],
  ROUNDS,
  load,
);
const stats = await fetch(`http://127.0.0.1:${cached.port}${hitPath}`).then((r) => r.headers.get("cache-status"));

const h = hit.medians;
const m = miss.medians;
const ratio = (a: number, b: number) => (a / b).toFixed(2);
console.log(
  [
    `cache bench ${new Date().toISOString()}: \`bun bench/cache.ts ${args.join(" ")}\``,
    `${ROUNDS} rounds x ${SECONDS}s, ${CONNECTIONS} connections, 1 KiB body, 1 worker each, proxies pinned to CPU 0${pin(0).length ? "" : " (unpinned)"}, gateway ${gwCmd.length === 1 ? "binary" : "from source"}`,
    "",
    "HIT (one URL, stored):",
    ...hit.table,
    "",
    `gateway-hit / nginx-hit: throughput ${ratio(h["gateway-hit"]!.rps, h["nginx-hit"]!.rps)}x, CPU/req ${ratio(h["gateway-hit"]!.cpu, h["nginx-hit"]!.cpu)}x, p99 ${ratio(h["gateway-hit"]!.p99, h["nginx-hit"]!.p99)}x` +
      ` (per-round throughput: ${hit.samples["gateway-hit"]!.map((s, i) => (s.rps / hit.samples["nginx-hit"]![i]!.rps).toFixed(2)).join(" ")})`,
    `gateway-hit / gateway-proxy: throughput ${ratio(h["gateway-hit"]!.rps, h["gateway-proxy"]!.rps)}x, CPU/req ${ratio(h["gateway-hit"]!.cpu, h["gateway-proxy"]!.cpu)}x`,
    "",
    "MISS (a new URL per request):",
    ...miss.table,
    "",
    `gateway-miss vs gateway-proxy: throughput ${ratio(m["gateway-miss"]!.rps, m["gateway-proxy"]!.rps)}x, CPU/req +${(m["gateway-miss"]!.cpu - m["gateway-proxy"]!.cpu).toFixed(1)} µs (${ratio(m["gateway-miss"]!.cpu, m["gateway-proxy"]!.cpu)}x)`,
    `nginx-miss vs nginx-proxy: throughput ${ratio(m["nginx-miss"]!.rps, m["nginx-proxy"]!.rps)}x, CPU/req +${(m["nginx-miss"]!.cpu - m["nginx-proxy"]!.cpu).toFixed(1)} µs (${ratio(m["nginx-miss"]!.cpu, m["nginx-proxy"]!.cpu)}x)`,
    ...(before === null
      ? []
      : [
          `this tree / ${REF}: HIT CPU/req ${ratio(h["gateway-hit"]!.cpu, h[`gateway-hit@${REF}`]!.cpu)}x, throughput ${ratio(h["gateway-hit"]!.rps, h[`gateway-hit@${REF}`]!.rps)}x; MISS CPU/req ${ratio(m["gateway-miss"]!.cpu, m[`gateway-miss@${REF}`]!.cpu)}x`,
        ]),
    `(gateway HIT still a hit after the MISS rounds: ${stats})`,
  ].join("\n"),
);
killChildren();
process.exit(0);
