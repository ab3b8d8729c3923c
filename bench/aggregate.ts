/**
 * What an aggregate costs on top of its slowest call, end to end on loopback
 * (issue 12's bench line: "latency ≈ the slowest call plus < 0.5 ms").
 *
 * Three upstreams (one child process, three ports) answer small JSON after
 * 2, 5 and 10 ms. The gateway (1 worker, from source or ./gateway) has:
 *   /agg   an aggregate of the three calls, in parallel
 *   /slow  a plain proxy route to the slowest one (the same call, alone)
 * One client, one request at a time, the three kinds interleaved per round so
 * drift hits them alike:
 *   direct   the slowest upstream, no gateway
 *   proxy    the slowest upstream through the gateway
 *   agg      the aggregate of three
 * Reported: p50/p90/p99 of each, and agg − proxy (fan-out, the two faster
 * calls in flight, merge) and agg − direct (all of the gateway).
 *
 *   bun bench/aggregate.ts [--rounds 200] [--source]
 */
import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { freePort } from "../test/helpers/ports.ts";
import { dir, option, spawnChild, waitPort } from "./lib.ts";

const ROOT = resolve(import.meta.dir, "..");
const args = process.argv.slice(2);
const ROUNDS = Number(option(args, "rounds", "200"));
const DELAYS = [2, 5, 10];

const ports = await Promise.all(DELAYS.map(() => freePort()));
const upstreamCode = `
const body = JSON.stringify({ id: 1, name: "Ada", items: [1, 2, 3] });
const delays = ${JSON.stringify(DELAYS)};
${JSON.stringify(ports)}.forEach((port, i) => Bun.serve({
  port, hostname: "127.0.0.1",
  fetch: () => new Promise((r) => setTimeout(() => r(new Response(body, { headers: { "content-type": "application/json" } })), delays[i])),
}));
`;
spawnChild(["bun", "-e", upstreamCode]);
for (const p of ports) await waitPort(p);

const gwPort = await freePort();
const conf = join(dir, "aggregate.toml");
writeFileSync(
  conf,
  `[server]
listen = "127.0.0.1:${gwPort}"
workers = 1
access_log = false
${ports.map((p, i) => `\n[[upstreams]]\nname = "u${i}"\ntargets = [{ url = "http://127.0.0.1:${p}" }]\n`).join("")}
[[routes]]
name = "agg"
path = "/agg"
timeout = "1s"
${ports.map((_, i) => `[[routes.aggregate]]\nupstream = "u${i}"\npath = "/x"\nas = "c${i}"\n`).join("")}
[[routes]]
name = "slow"
path = "/slow"
upstream = "u${ports.length - 1}"
`,
);
const gwCmd = args.includes("--source") || !existsSync(join(ROOT, "gateway")) ? ["bun", join(ROOT, "src/main.ts")] : [join(ROOT, "gateway")];
spawnChild([...gwCmd, "--config", conf]);
await waitPort(gwPort);

const kinds = {
  direct: `http://127.0.0.1:${ports[ports.length - 1]}/x`,
  proxy: `http://127.0.0.1:${gwPort}/slow`,
  agg: `http://127.0.0.1:${gwPort}/agg`,
} as const;
type Kind = keyof typeof kinds;
const samples: Record<Kind, number[]> = { direct: [], proxy: [], agg: [] };

async function once(kind: Kind): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(kinds[kind]);
  await res.arrayBuffer();
  const took = performance.now() - t0;
  if (res.status !== 200) throw new Error(`${kind}: ${res.status}`);
  return took;
}

// Warm up: pools, JIT.
for (let i = 0; i < 30; i++) for (const k of Object.keys(kinds) as Kind[]) await once(k);
const started = performance.now();
for (let r = 0; r < ROUNDS; r++) for (const k of Object.keys(kinds) as Kind[]) samples[k].push(await once(k));
const seconds = (performance.now() - started) / 1000;

const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const row = (k: Kind) => `| ${k} | ${pct(samples[k], 0.5).toFixed(3)} | ${pct(samples[k], 0.9).toFixed(3)} | ${pct(samples[k], 0.99).toFixed(3)} |`;
const d = (a: Kind, b: Kind, q: number) => (pct(samples[a], q) - pct(samples[b], q)).toFixed(3);
console.log(`aggregate bench ${new Date().toISOString()}: \`bun bench/aggregate.ts ${args.join(" ")}\``);
console.log(`${ROUNDS} rounds x 3 kinds in ${seconds.toFixed(1)} s, upstream delays ${DELAYS.join("/")} ms, gateway ${gwCmd.length === 1 ? "binary" : "from source"}, 1 worker, sequential requests`);
console.log("| kind | p50 ms | p90 ms | p99 ms |\n| --- | --- | --- | --- |");
for (const k of Object.keys(kinds) as Kind[]) console.log(row(k));
console.log(`agg − proxy (slowest call through the gateway): p50 ${d("agg", "proxy", 0.5)} ms, p90 ${d("agg", "proxy", 0.9)} ms`);
console.log(`agg − direct (slowest call, no gateway): p50 ${d("agg", "direct", 0.5)} ms, p90 ${d("agg", "direct", 0.9)} ms`);
process.exit(0);
