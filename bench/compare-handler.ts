/**
 * The request handler of this tree against the same handler at another git
 * ref, in one process, interleaved: each round runs every scenario on both
 * sides for a fixed number of requests, so drift on a shared machine hits
 * both alike. Reports the median ns per request of each side and the ratio
 * with its spread over rounds (the noise figure). find-my-way's
 * compare-branches, for the handler.
 *
 *   bun bench/compare-handler.ts [REF=HEAD~1] [--rounds 15] [--requests 20000]
 *
 * The other ref is checked out (detached) under .bench-tmp/; both sides use
 * this tree's node_modules. Scenarios: a route with no policy at all, the
 * shipped-config shape (strip_prefix), a local rate limit, and JWT + limit.
 */
import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import { option } from "./lib.ts";

const args = process.argv.slice(2);
const ref = args.find((a) => !a.startsWith("--") && !/^\d+$/.test(a)) ?? "HEAD~1";
const rounds = Number(option(args, "rounds", "15"));
const requests = Number(option(args, "requests", "20000"));
const ROOT = resolve(import.meta.dir, "..");

function checkout(rev: string): string {
  const sha = Bun.spawnSync(["git", "rev-parse", rev], { cwd: ROOT }).stdout.toString().trim();
  if (!sha) throw new Error(`unknown ref ${rev}`);
  const dir = join(ROOT, ".bench-tmp", `ref-${sha.slice(0, 12)}`);
  if (!existsSync(dir)) {
    mkdirSync(join(ROOT, ".bench-tmp"), { recursive: true });
    const r = Bun.spawnSync(["git", "worktree", "add", "--detach", dir, sha], { cwd: ROOT, stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  }
  if (!existsSync(join(dir, "node_modules"))) symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return dir;
}

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
const SCENARIOS: Record<string, string> = {
  "no policy": configText(""),
  "strip_prefix": configText('strip_prefix = "/api"'),
  "strip_prefix + limit": configText(`strip_prefix = "/api"\n${LIMIT}`),
  "strip_prefix + jwt + limit": configText(`strip_prefix = "/api"\nauth = "jwt"\n${LIMIT}`, `[jwt]\nsecret = "${SECRET}"\nalgorithms = ["HS256"]\nrequire_exp = false`),
};

type Handle = (req: Request, server: unknown) => Response | Promise<Response>;

/** A handler over a canned upstream client, from the tree at `dir` (either layout: src/data or the older src/server). */
async function handlers(dir: string): Promise<Record<string, Handle>> {
  const modern = existsSync(join(dir, "src/data/handler.ts"));
  const p = (m: string) => join(dir, "src", m);
  const { parseConfig } = await import(p("config/load.ts"));
  const handlerMod = await import(p(modern ? "data/handler.ts" : "server/handler.ts"));
  const sharedMod = await import(p(modern ? "data/shared.ts" : "server/policies.ts"));
  const { compileSnapshot } = await import(p(modern ? "data/snapshot.ts" : "server/snapshot.ts"));
  const { ClientRegistry } = await import(p(modern ? "data/clients.ts" : "server/clients.ts"));
  const body = new TextEncoder().encode('{"ok":true,"service":"bench-upstream"}');
  const canned = {
    request: () =>
      Promise.resolve({
        status: 200,
        statusText: "OK",
        headers: [["server", "nginx"], ["date", "Sun, 22 Nov 2026 22:00:00 GMT"], ["content-type", "text/plain"], ["content-length", String(body.length)], ["connection", "keep-alive"]],
        body: null,
        bodyBytes: body,
        contentLength: body.length,
      }),
    close() {},
  };
  class Canned extends ClientRegistry {
    get() {
      return canned;
    }
  }
  const out: Record<string, Handle> = {};
  for (const [name, text] of Object.entries(SCENARIOS)) {
    const config = parseConfig(text, "bench.toml");
    const snapshot = compileSnapshot(config, sharedMod.allocateShared(config, null), new Canned());
    const state = { snapshot, draining: false, log: null, scheme: "http", skip: handlerMod.skippedHeaders?.(snapshot) };
    out[name] = handlerMod.createHandler(state);
  }
  return out;
}

const token = await (async () => {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const input = `${enc({ alg: "HS256", typ: "JWT" })}.${enc({ sub: "bench" })}`;
  const sig = new Bun.CryptoHasher("sha256", SECRET).update(input).digest("base64url");
  return `${input}.${sig}`;
})();
const server = { requestIP: () => ({ address: "127.0.0.1", family: "IPv4", port: 40000 }) };
const headers = { host: "127.0.0.1:8080", "user-agent": "wrk/4.2", accept: "*/*", authorization: `Bearer ${token}` };

async function time(handle: Handle, n: number): Promise<number> {
  const t0 = Bun.nanoseconds();
  for (let i = 0; i < n; i++) {
    const res = await handle(new Request("http://127.0.0.1:8080/api/bench", { headers }), server);
    if (res.status !== 200) throw new Error(`status ${res.status}`);
  }
  return (Bun.nanoseconds() - t0) / n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.round((xs.length - 1) * q)]!;

const here = await handlers(ROOT);
const there = await handlers(checkout(ref));
const results: Record<string, { a: number[]; b: number[]; r: number[] }> = {};
for (const name of Object.keys(SCENARIOS)) {
  await time(here[name]!, requests); // warm both JITs
  await time(there[name]!, requests);
  results[name] = { a: [], b: [], r: [] };
}
for (let round = 0; round < rounds; round++) {
  for (const name of Object.keys(SCENARIOS)) {
    const first = round % 2 === 0;
    const x = first ? await time(there[name]!, requests) : 0;
    const a = await time(here[name]!, requests);
    const b = first ? x : await time(there[name]!, requests);
    results[name]!.a.push(a);
    results[name]!.b.push(b);
    results[name]!.r.push(a / b);
  }
}
console.log(`handler, this tree vs ${ref}: ${rounds} rounds x ${requests} requests, median ns/request (ratio: median, and 10th-90th percentile over rounds)\n`);
console.log("| scenario | this tree | " + ref + " | ratio | ratio p10-p90 |\n| --- | --- | --- | --- | --- |");
for (const [name, r] of Object.entries(results)) {
  console.log(`| ${name} | ${median(r.a).toFixed(0)} | ${median(r.b).toFixed(0)} | ${median(r.r).toFixed(3)} | ${quantile(r.r, 0.1).toFixed(3)}-${quantile(r.r, 0.9).toFixed(3)} |`);
}
