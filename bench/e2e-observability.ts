/**
 * What metrics and tracing cost end to end: the data plane (main thread, one
 * process each, pinned to CPU 0; bench/fixtures/data-plane.ts) in five
 * variants against one static nginx upstream, loaded by wrk in alternating
 * rounds:
 *
 *   full         as shipped: the metrics policy counts, tracing propagates (the defaults)
 *   no-metrics   the metrics policy taken out of the pre-route stage (no config can: it always counts)
 *   no-tracing   [tracing] propagate = false
 *   bare         neither
 *   otlp         full, plus [tracing] otlp_url: a server and a client span per request, exported
 *                as OTLP/HTTP JSON to a loopback collector (bench/fixtures/otlp-collector.ts, CPU 1)
 *
 *   bun bench/e2e-observability.ts [--quick] [--rounds N] [--seconds N] [--connections N]
 *
 * The access log is off everywhere. Differences of CPU µs per request are the costs; their
 * spread over the rounds (min..max) says how far to trust a difference on this machine.
 */
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { freePort } from "../test/helpers/ports.ts";
import { compare, dir, killChildren, option, pin, requireTools, spawnChild, startStaticUpstream, waitPort } from "./lib.ts";

const ROOT = resolve(import.meta.dir, "..");
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const ROUNDS = Number(option(args, "rounds", quick ? "3" : "6"));
const SECONDS = Number(option(args, "seconds", quick ? "3" : "5"));
const CONNECTIONS = Number(option(args, "connections", "50"));

requireTools("nginx", "wrk");
const upstreamPort = await freePort();
await startStaticUpstream(upstreamPort);
const collectorPort = await freePort();
spawnChild([...pin(1), "bun", join(ROOT, "bench/fixtures/otlp-collector.ts"), String(collectorPort)]);
await waitPort(collectorPort);

const variants: { name: string; tracing: string; without?: string }[] = [
  { name: "full", tracing: "" },
  { name: "no-metrics", tracing: "", without: "metrics" },
  { name: "no-tracing", tracing: "[tracing]\npropagate = false" },
  { name: "bare", tracing: "[tracing]\npropagate = false", without: "metrics" },
  { name: "otlp", tracing: `[tracing]\notlp_url = "http://127.0.0.1:${collectorPort}/v1/traces"` },
];

const targets: { name: string; port: number; pid: number | null }[] = [];
for (const v of variants) {
  const port = await freePort();
  const conf = join(dir, `obs-${v.name}.toml`);
  writeFileSync(
    conf,
    `[server]
listen = "127.0.0.1:${port}"
workers = 1
access_log = false
${v.tracing}

[[upstreams]]
name = "backend"
targets = [{ url = "http://127.0.0.1:${upstreamPort}" }]

[[routes]]
name = "api"
path = "/api/*"
upstream = "backend"
strip_prefix = "/api"
`,
  );
  const proc = spawnChild([...pin(0), "bun", join(ROOT, "bench/fixtures/data-plane.ts"), conf, ...(v.without ? ["--without", v.without] : [])]);
  await waitPort(port);
  targets.push({ name: v.name, port, pid: proc.pid });
}

const { table, medians, samples } = await compare(targets, ROUNDS, { connections: CONNECTIONS, seconds: SECONDS });
await Bun.sleep(1500); // the exporter's last batch
const collected = (await (await fetch(`http://127.0.0.1:${collectorPort}/count`)).json()) as { posts: number; spans: number; bytes: number };
const cpu = (name: string) => medians[name]!.cpu;
const spread = (name: string) => {
  const xs = samples[name]!.map((s) => s.cpuUs).filter((x) => !Number.isNaN(x));
  return `${Math.min(...xs).toFixed(1)}..${Math.max(...xs).toFixed(1)}`;
};
const otlpRequests = samples.otlp!.reduce((n, s) => n + s.rps * SECONDS, 0);
const lines = [
  `observability cost bench ${new Date().toISOString()}: \`bun bench/e2e-observability.ts ${args.join(" ")}\``,
  `${ROUNDS} rounds x ${SECONDS}s, ${CONNECTIONS} connections, GET, data plane on the main thread pinned to CPU 0; upstream, wrk and collector on CPU 1`,
  "",
  ...table,
  "",
  "| variant | CPU µs/req, rounds min..max |",
  "| --- | --- |",
  ...targets.map((t) => `| ${t.name} | ${spread(t.name)} |`),
  "",
  `- metrics, end to end: full - no-metrics = ${(cpu("full") - cpu("no-metrics")).toFixed(2)} µs/req (no-tracing - bare = ${(cpu("no-tracing") - cpu("bare")).toFixed(2)})`,
  `- tracing (propagation), end to end: full - no-tracing = ${(cpu("full") - cpu("no-tracing")).toFixed(2)} µs/req (no-metrics - bare = ${(cpu("no-metrics") - cpu("bare")).toFixed(2)})`,
  `- OTLP export (2 spans/req, batched): otlp - full = ${(cpu("otlp") - cpu("full")).toFixed(2)} µs/req; the collector got ${collected.spans} spans in ${collected.posts} posts (${(collected.bytes / Math.max(1, collected.spans)).toFixed(0)} B/span) for ~${Math.round(otlpRequests)} timed requests (+ warm-up)`,
];
console.log(lines.join("\n"));
killChildren();
process.exit(0);
