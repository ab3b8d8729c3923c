/**
 * Idempotency-Key end to end (issue 11's bench): req/s of an idempotent POST
 * route against the same route without it, one gateway process (1 worker)
 * per variant against one static nginx upstream, wrk POSTing a 100-byte JSON
 * body, in alternating rounds:
 *
 *   post              the route without idempotency (the reference: 100 %)
 *   idem-new          idempotency, memory arena: a new key on every request (lock, forward, store)
 *   idem-replay       idempotency, memory arena: one key, every request after the first a replay
 *   redis-new         the same with [redis] (records in a real redis-server)
 *   redis-replay      (replays are answered from the instance's local copy of the record)
 *
 *   bun bench/e2e-idempotency.ts [--quick] [--rounds N] [--seconds N] [--connections N] [--source]
 */
import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { freePort } from "../test/helpers/ports.ts";
import { dir, killChildren, load, median, option, pin, requireTools, spawnChild, startBenchRedis, startStaticUpstream, waitPort, type Sample } from "./lib.ts";

const ROOT = resolve(import.meta.dir, "..");
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const ROUNDS = Number(option(args, "rounds", quick ? "2" : "4"));
const SECONDS = Number(option(args, "seconds", quick ? "3" : "6"));
const CONNECTIONS = Number(option(args, "connections", "50"));
const SOURCE = args.includes("--source");

requireTools("nginx", "wrk");
const upstreamPort = await freePort();
await startStaticUpstream(upstreamPort);
const redisPort = await startBenchRedis(await freePort());
const haveRedis = redisPort !== 0;

const BODY = JSON.stringify({ amount: 1000, currency: "EUR", customer: "c_1234567890", note: "x".repeat(40) });
/** A wrk script POSTing BODY; `key`: "new" (a fresh key per request, unique to this run), "fixed", or none. */
function script(key: "new" | "fixed" | null, run: string): string {
  const path = join(dir, `idem-${key ?? "none"}-${run}.lua`);
  const header =
    key === "new"
      ? `n = n + 1\n  wrk.headers["Idempotency-Key"] = '"${run}-' .. n .. '"'`
      : key === "fixed"
        ? `wrk.headers["Idempotency-Key"] = '"${run}-fixed"'`
        : "";
  writeFileSync(
    path,
    `n = 0\nwrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ${JSON.stringify(BODY)}\nrequest = function()\n  ${header}\n  return wrk.format(nil, nil, nil, nil)\nend\n`,
  );
  return path;
}

const REDIS = `[redis]\nurl = "redis://127.0.0.1:${redisPort}"\ncommand_timeout = "1s"`;
const IDEM = 'idempotency = { ttl = "1h" }';
const variants: { name: string; route: string; key: "new" | "fixed" | null; extra?: string; needsRedis?: boolean }[] = [
  { name: "post", route: "", key: null },
  { name: "idem-new", route: IDEM, key: "new" },
  { name: "idem-replay", route: IDEM, key: "fixed" },
  { name: "redis-new", route: IDEM, key: "new", extra: REDIS, needsRedis: true },
  { name: "redis-replay", route: IDEM, key: "fixed", extra: REDIS, needsRedis: true },
];
const gwCmd = SOURCE || !existsSync(join(ROOT, "gateway")) ? ["bun", join(ROOT, "src/main.ts")] : [join(ROOT, "gateway")];

const targets: { name: string; port: number; pid: number; key: "new" | "fixed" | null }[] = [];
for (const v of variants) {
  if (v.needsRedis && !haveRedis) continue;
  const port = await freePort();
  const conf = join(dir, `${v.name}.toml`);
  writeFileSync(
    conf,
    `[server]\nlisten = "127.0.0.1:${port}"\nworkers = 1\naccess_log = false\n${v.extra ?? ""}\n\n[idempotency]\nsize = "256MB"\n\n[[upstreams]]\nname = "backend"\ntargets = [{ url = "http://127.0.0.1:${upstreamPort}" }]\n\n[[routes]]\nname = "api"\npath = "/api/*"\nupstream = "backend"\nstrip_prefix = "/api"\n${v.route}\n`,
  );
  const proc = spawnChild([...pin(0), ...gwCmd, "--config", conf]);
  await waitPort(port);
  targets.push({ name: v.name, port, pid: proc.pid, key: v.key });
}

const o = { connections: CONNECTIONS, seconds: SECONDS };
const stamp = Date.now().toString(36);
for (const t of targets) await load(t.port, null, { ...o, seconds: 1, luaScript: script(t.key, `${stamp}-warm-${t.name}`) });
const samples: Record<string, Sample[]> = Object.fromEntries(targets.map((t) => [t.name, []]));
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? targets : [...targets].reverse();
  for (const t of order) samples[t.name]!.push(await load(t.port, t.pid, { ...o, luaScript: script(t.key, `${stamp}-${r}-${t.name}`) }));
}
const m = (name: string) => {
  const s = samples[name]!;
  return { rps: median(s.map((x) => x.rps)), p50: median(s.map((x) => x.p50)), p99: median(s.map((x) => x.p99)), cpu: median(s.map((x) => x.cpuUs)), bad: s.reduce((a, x) => a + x.non2xx + x.errors, 0) };
};
const base = m("post");
const lines = [
  `idempotency e2e bench ${new Date().toISOString()}: \`bun bench/e2e-idempotency.ts ${args.join(" ")}\``,
  `${ROUNDS} rounds x ${SECONDS}s, ${CONNECTIONS} connections, POST ${BODY.length} B JSON, 1 worker each, pinned to CPU 0${haveRedis ? "" : " (no redis-server: Redis rows skipped)"}`,
  "",
  "| variant | req/s (median) | vs post | p50 ms | p99 ms | CPU µs/req | extra CPU µs/req | non-2xx + socket errors |",
  "| --- | --- | --- | --- | --- | --- | --- | --- |",
  ...targets.map((t) => {
    const x = m(t.name);
    return `| ${t.name} | ${x.rps.toFixed(0)} | ${((100 * x.rps) / base.rps).toFixed(0)} % | ${x.p50.toFixed(2)} | ${x.p99.toFixed(2)} | ${x.cpu.toFixed(1)} | ${(x.cpu - base.cpu).toFixed(1)} | ${x.bad} |`;
  }),
];
console.log(lines.join("\n"));
killChildren();
process.exit(0);
