/**
 * Does the load generator of `gateway bench` (src/bench/load.ts, Bun, one
 * thread) drive at least what wrk drives on the same machine?
 *
 *   bun bench/loadgen-vs-wrk.ts [--rounds 2] [--seconds 3] [--connections 16]
 *
 * Two targets, each loaded closed-loop by wrk -t1 and by the Bun generator in
 * turn (order alternating per round), the generator pinned to CPU 0 and the
 * target to CPU 1: a static nginx `return 200` (what each generator can do
 * at most) and the gateway (1 worker) proxying to it (what `gateway bench`
 * has to saturate). Prints one markdown table of median req/s.
 */
import { join, resolve } from "node:path";
import { dir, median, option, pin, requireTools, spawnChild, startStaticUpstream, waitPort } from "./lib.ts";
import { encodeRequest } from "../src/bench/http.ts";
import { runLoad } from "../src/bench/load.ts";
import { summarize } from "../src/bench/stats.ts";

const args = process.argv.slice(2);

if (option(args, "role", "main") === "bun-load") {
  const port = Number(option(args, "port", "0"));
  const rec = await runLoad({
    hostname: "127.0.0.1",
    port,
    request: encodeRequest({ method: "GET", path: "/api/bench", host: `127.0.0.1:${port}` }),
    connections: Number(option(args, "connections", "16")),
    durationMs: Number(option(args, "seconds", "3")) * 1000,
  });
  const s = summarize(rec);
  console.log(JSON.stringify({ rps: s.rps, p99: s.latency.p99, failed: s.failed }));
  process.exit(0);
}

requireTools("wrk", "nginx");
const rounds = Number(option(args, "rounds", "2"));
const seconds = Number(option(args, "seconds", "3"));
const connections = Number(option(args, "connections", "16"));
const ROOT = resolve(import.meta.dir, "..");

const upstreamPort = 21000 + Math.floor(Math.random() * 1000);
await startStaticUpstream(upstreamPort);
const gwPort = upstreamPort + 1000;
const cfg = join(dir, "gateway.toml");
await Bun.write(
  cfg,
  `[server]\nlisten = "127.0.0.1:${gwPort}"\nworkers = 1\naccess_log = false\n[[upstreams]]\nname = "u"\ntargets = [{ url = "http://127.0.0.1:${upstreamPort}" }]\n[[routes]]\nname = "r"\npath = "/api/*"\nupstream = "u"\n`,
);
spawnChild([...pin(1), "bun", join(ROOT, "src/main.ts"), "--config", cfg]);
await waitPort(gwPort);

async function wrk(port: number, s: number): Promise<number> {
  const p = Bun.spawn([...pin(0), "wrk", "-t1", `-c${connections}`, `-d${s}s`, `http://127.0.0.1:${port}/api/bench`], { stdout: "pipe", stderr: "ignore" });
  const text = await new Response(p.stdout).text();
  return Number(text.match(/Requests\/sec:\s+([\d.]+)/)?.[1] ?? 0);
}

async function bunLoad(port: number, s: number): Promise<number> {
  const p = Bun.spawn([...pin(0), "bun", import.meta.path, "--role", "bun-load", "--port", String(port), "--seconds", String(s), "--connections", String(connections)], {
    stdout: "pipe",
    stderr: "inherit",
  });
  const text = await new Response(p.stdout).text();
  return (JSON.parse(text) as { rps: number }).rps;
}

const targets = [
  { name: "nginx static", port: upstreamPort },
  { name: "gateway (1 worker) -> nginx", port: gwPort },
];
const tools = [
  { name: "wrk -t1", run: wrk },
  { name: "gateway bench generator", run: bunLoad },
];
const samples: Record<string, number[]> = {};
for (const t of targets) {
  for (const tool of tools) await tool.run(t.port, 1); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const tool of r % 2 === 0 ? tools : [...tools].reverse()) (samples[`${t.name}|${tool.name}`] ??= []).push(await tool.run(t.port, seconds));
  }
}
console.log(`| target | wrk -t1 req/s | gateway bench generator req/s | ratio |`);
console.log(`| --- | --- | --- | --- |`);
for (const t of targets) {
  const w = median(samples[`${t.name}|wrk -t1`]!);
  const b = median(samples[`${t.name}|gateway bench generator`]!);
  console.log(`| ${t.name} | ${w.toFixed(0)} | ${b.toFixed(0)} | ${(b / w).toFixed(2)} |`);
}
process.exit(0);
