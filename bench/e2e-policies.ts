/**
 * What policies cost end to end: the same gateway binary (1 worker) in several
 * configurations against one static upstream, loaded in alternating rounds:
 *
 *   proxy           proxy only (the reference: 100 %)
 *   jwt             auth = "jwt" (HS256, same token every request: the cached path)
 *   limit-local     a token-bucket limit on every request, no Redis
 *   jwt+limit       both: DESIGN.md's "auth + limit + route" budget is ≥ 90 % of proxy
 *   limit-sync      the limit with [redis] mode = "sync"  (needs redis-server)
 *   limit-strict    the limit with [redis] mode = "strict" (needs redis-server)
 *
 *   bun bench/e2e-policies.ts [--quick] [--rounds N] [--seconds N] [--connections N] [--source]
 *
 * The limit is set high enough never to reject: this measures the decision's cost, not 429s.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { SignJWT } from "jose";
import { freePort } from "../test/helpers/ports.ts";
import { compare, dir, killChildren, option, pin, requireTools, spawnChild, startBenchRedis, startStaticUpstream, waitPort } from "./lib.ts";

const ROOT = resolve(import.meta.dir, "..");
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const ROUNDS = Number(option(args, "rounds", quick ? "2" : "4"));
const SECONDS = Number(option(args, "seconds", quick ? "3" : "6"));
const CONNECTIONS = Number(option(args, "connections", "50"));
const SOURCE = args.includes("--source");
const SECRET = "bench-secret-bench-secret-bench-secret-0123456789";

requireTools("nginx", "wrk");

const upstreamPort = await freePort();
await startStaticUpstream(upstreamPort);

const redisPort = await startBenchRedis(await freePort());
const haveRedis = redisPort !== 0;

const token = await new SignJWT({ sub: "bench-user", roles: ["user"] })
  .setProtectedHeader({ alg: "HS256" })
  .setIssuer("https://bench/")
  .setExpirationTime("2h")
  .sign(new TextEncoder().encode(SECRET));

const LIMIT = `rate_limits = [{ algorithm = "token_bucket", limit = 100000000, window = "1s", key = "ip" }]`;
const variants: { name: string; route: string; extra?: string; needsRedis?: boolean; headers?: string[] }[] = [
  { name: "proxy", route: "" },
  { name: "jwt", route: `auth = "jwt"`, headers: [`Authorization: Bearer ${token}`] },
  { name: "limit-local", route: LIMIT },
  { name: "jwt+limit", route: `auth = "jwt"\n${LIMIT}`, headers: [`Authorization: Bearer ${token}`] },
  { name: "limit-sync", route: LIMIT, extra: `[redis]\nurl = "redis://127.0.0.1:${redisPort}"\nmode = "sync"`, needsRedis: true },
  { name: "limit-strict", route: LIMIT, extra: `[redis]\nurl = "redis://127.0.0.1:${redisPort}"\nmode = "strict"\ncommand_timeout = "1s"`, needsRedis: true },
];
const gwCmd = SOURCE || !existsSync(join(ROOT, "gateway")) ? ["bun", join(ROOT, "src/main.ts")] : [join(ROOT, "gateway")];

const targets: { name: string; port: number; pid: number | null; headers?: string[] }[] = [];
for (const v of variants) {
  if (v.needsRedis && !haveRedis) continue;
  const port = await freePort();
  const conf = join(dir, `${v.name}.toml`);
  writeFileSync(
    conf,
    `[server]
listen = "127.0.0.1:${port}"
workers = 1
access_log = false
${v.extra ?? ""}

[jwt]
issuer = "https://bench/"
secret = "${SECRET}"
algorithms = ["HS256"]

[[upstreams]]
name = "backend"
targets = [{ url = "http://127.0.0.1:${upstreamPort}" }]

[[routes]]
name = "api"
path = "/api/*"
upstream = "backend"
strip_prefix = "/api"
${v.route}
`,
  );
  // All gateways share CPU 0 but only one is loaded at a time.
  const proc = spawnChild([...pin(0), ...gwCmd, "--config", conf]);
  await waitPort(port);
  targets.push({ name: v.name, port, pid: proc.pid, headers: v.headers });
}

const { table, medians } = await compare(targets, ROUNDS, { connections: CONNECTIONS, seconds: SECONDS });
const base = medians.proxy!;
const lines = [
  `policy cost bench ${new Date().toISOString()}: \`bun bench/e2e-policies.ts ${args.join(" ")}\``,
  `${ROUNDS} rounds x ${SECONDS}s, ${CONNECTIONS} connections, GET, 1 worker each, pinned to CPU 0${haveRedis ? "" : " (no redis-server: sync/strict skipped)"}`,
  "",
  ...table,
  "",
  // Gateway busy = req/s x CPU per request: below ~95 % the run was limited by something else
  // (wrk and the upstream share the other CPU, and bigger requests cost wrk more), so the
  // capacity column (proxy-only CPU / this variant's CPU) is the figure to hold a budget to.
  "| variant | req/s vs proxy-only | extra CPU µs/req | gateway busy | capacity vs proxy-only (CPU) |",
  "| --- | --- | --- | --- | --- |",
  ...targets.map((t) => {
    const m = medians[t.name]!;
    return `| ${t.name} | ${((100 * m.rps) / base.rps).toFixed(0)} % | ${(m.cpu - base.cpu).toFixed(1)} | ${((m.rps * m.cpu) / 1e4).toFixed(0)} % | ${((100 * base.cpu) / m.cpu).toFixed(0)} % |`;
  }),
];
console.log(lines.join("\n"));
killChildren();
process.exit(0);
