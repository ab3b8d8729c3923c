/**
 * The request handler of this tree against the same handler at another git
 * ref, in one process, interleaved: each round runs every scenario on both
 * sides for a fixed number of requests, so drift on a shared machine hits
 * both alike. Reports the median ns per request of each side and the ratio
 * with its spread over rounds (the noise figure). find-my-way's
 * compare-branches, for the handler.
 *
 *   bun bench/compare-handler.ts [REF=HEAD~1] [--rounds 15] [--requests 20000] [--only a,b]
 *
 * The other ref is checked out (detached) under .bench-tmp/; both sides use
 * this tree's node_modules. Scenarios: a route with no policy at all, the
 * shipped-config shape (strip_prefix), a local rate limit, JWT + limit, and
 * a cached route: HITs (one URL) and MISSes (a new URL per request: lookup,
 * fill, store). `--only` picks scenarios by name.
 */
import { handlersAt, checkout, interleave, ROOT, rows, time, type Target } from "./handler-kit.ts";
import { option } from "./lib.ts";

const args = process.argv.slice(2);
const ref = args.find((a) => !a.startsWith("--") && !/^\d+$/.test(a) && args[args.indexOf(a) - 1] !== "--only") ?? "HEAD~1";
const rounds = Number(option(args, "rounds", "15"));
const requests = Number(option(args, "requests", "20000"));

const SECRET = "bench-secret-bench-secret-bench-secret!!";
const configText = (route: string, extra = "") => `[server]
listen = "127.0.0.1:0"
access_log = false
${extra}
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:3001" }]
[[routes]]
name = "api"
path = "/api/*"
upstream = "u"
${route}
`;
const LIMIT = 'rate_limits = [{ algorithm = "token_bucket", limit = 100000000, window = "1s", key = "ip" }]';
const CACHED = configText('strip_prefix = "/api"\ncache = { ttl = "1h" }', '[cache]\nsize = "64MB"');
const SCENARIOS: Record<string, { config: string; target: Target }> = {
  "no policy": { config: configText(""), target: "/api/bench" },
  "strip_prefix": { config: configText('strip_prefix = "/api"'), target: "/api/bench" },
  "strip_prefix + limit": { config: configText(`strip_prefix = "/api"\n${LIMIT}`), target: "/api/bench" },
  "strip_prefix + jwt + limit": {
    config: configText(`strip_prefix = "/api"\nauth = "jwt"\n${LIMIT}`, `[jwt]\nsecret = "${SECRET}"\nalgorithms = ["HS256"]\nrequire_exp = false`),
    target: "/api/bench",
  },
  "cache HIT": { config: CACHED, target: "/api/bench" },
  "cache MISS (new URL each)": { config: CACHED, target: (i) => `/api/bench?i=${i}` },
};
const only = option(args, "only", "");
const names = Object.keys(SCENARIOS).filter((n) => only === "" || only.split(",").includes(n));
const configs = Object.fromEntries(names.map((n) => [n, SCENARIOS[n]!.config]));

const token = await (async () => {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const input = `${enc({ alg: "HS256", typ: "JWT" })}.${enc({ sub: "bench" })}`;
  const sig = new Bun.CryptoHasher("sha256", SECRET).update(input).digest("base64url");
  return `${input}.${sig}`;
})();
const plain = { host: "127.0.0.1:8080", "user-agent": "wrk/4.2", accept: "*/*" };
// Only the JWT route gets a token: a request with Authorization is not stored by a shared cache (RFC 9111 §3.5).
const headersOf = (name: string) => (name.includes("jwt") ? { ...plain, authorization: `Bearer ${token}` } : plain);

const here = await handlersAt(ROOT, configs);
const there = await handlersAt(checkout(ref), configs);
const results = await interleave(
  names,
  (name) => time(here[name]!, requests, SCENARIOS[name]!.target, headersOf(name)),
  (name) => time(there[name]!, requests, SCENARIOS[name]!.target, headersOf(name)),
  rounds,
);
console.log(`handler, this tree vs ${ref}: ${rounds} rounds x ${requests} requests, median ns/request (ratio: median, and 10th-90th percentile over rounds)\n`);
console.log("| scenario | this tree | " + ref + " | ratio | ratio p10-p90 |\n| --- | --- | --- | --- | --- |");
console.log(rows(results).join("\n"));
