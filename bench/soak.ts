/**
 * Soak: is the gateway's memory flat under steady load? The compiled
 * ./gateway (1 worker, proxy + a rate limit + metrics, access log off) in
 * front of a static nginx upstream, loaded at a constant rate (open model,
 * src/bench/load.ts) for a warm-up and then the measured span; the gateway's
 * RSS (all threads: one process) is sampled every 10 s. Passes when the RSS
 * at the end is within 10 % of the RSS right after warm-up and no request
 * failed (issue 16: "RSS flat (within 10 %) over a 10-minute soak").
 *
 *   bun bench/soak.ts [--minutes 10] [--warmup 60] [--rate 1000] [--connections 16]
 *
 * Only 127.0.0.1 is loaded; bounded by --minutes.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { encodeRequest } from "../src/bench/http.ts";
import { runLoad } from "../src/bench/load.ts";
import { freePort } from "../test/helpers/ports.ts";
import { dir, killChildren, option, requireTools, spawnChild, startStaticUpstream, waitPort } from "./lib.ts";

const args = process.argv.slice(2);
const MINUTES = Number(option(args, "minutes", "10"));
const WARMUP_S = Number(option(args, "warmup", "60"));
const RATE = Number(option(args, "rate", "1000"));
const CONNECTIONS = Number(option(args, "connections", "16"));
requireTools("nginx");

const ROOT = resolve(import.meta.dir, "..");
const upPort = await freePort();
await startStaticUpstream(upPort);
const gwPort = await freePort();
const conf = join(dir, "soak.toml");
writeFileSync(
  conf,
  `[server]
listen = "127.0.0.1:${gwPort}"
workers = 1
access_log = false

[[upstreams]]
name = "backend"
targets = [{ url = "http://127.0.0.1:${upPort}" }]

[[routes]]
name = "api"
path = "/api/*"
upstream = "backend"
strip_prefix = "/api"
rate_limits = [{ algorithm = "token_bucket", limit = 1000000, window = "1s", key = "ip" }]
`,
);
const gw = spawnChild([join(ROOT, "gateway"), "--config", conf]);
await waitPort(gwPort);

const rssKb = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${gw.pid}/status`, "utf8"))![1]);
const samples: { s: number; rssMb: number }[] = [];
const t0 = performance.now();
const sampler = setInterval(() => samples.push({ s: Math.round((performance.now() - t0) / 1000), rssMb: rssKb() / 1024 }), 10_000);

const rec = await runLoad({
  hostname: "127.0.0.1",
  port: gwPort,
  request: encodeRequest({ method: "GET", path: "/api/soak", host: `127.0.0.1:${gwPort}` }),
  connections: CONNECTIONS,
  rate: RATE,
  durationMs: (WARMUP_S + MINUTES * 60) * 1000,
  timeoutMs: 5000,
});
clearInterval(sampler);
samples.push({ s: Math.round((performance.now() - t0) / 1000), rssMb: rssKb() / 1024 });
killChildren();

const afterWarmup = samples.find((x) => x.s >= WARMUP_S) ?? samples[0]!;
const last = samples[samples.length - 1]!;
const measured = samples.filter((x) => x.s >= WARMUP_S);
const max = Math.max(...measured.map((x) => x.rssMb));
const failed = rec.status.filter((s) => s !== 200).length;
const drift = (last.rssMb - afterWarmup.rssMb) / afterWarmup.rssMb;
console.log(`soak ${new Date().toISOString()}: \`bun bench/soak.ts --minutes ${MINUTES} --warmup ${WARMUP_S} --rate ${RATE} --connections ${CONNECTIONS}\``);
console.log(`requests ${rec.status.length}, failed ${failed}, errors ${JSON.stringify(rec.errors)}`);
console.log(`RSS after warm-up ${afterWarmup.rssMb.toFixed(1)} MB (t=${afterWarmup.s}s), end ${last.rssMb.toFixed(1)} MB (t=${last.s}s), max ${max.toFixed(1)} MB, drift ${(drift * 100).toFixed(1)} %`);
console.log(`samples (s: MB): ${samples.map((x) => `${x.s}:${x.rssMb.toFixed(0)}`).join(" ")}`);
const ok = Math.abs(drift) <= 0.1 && failed === 0;
console.log(ok ? "PASS: RSS within 10 %, no failed request" : "FAIL");
process.exit(ok ? 0 : 1);
