/**
 * Which OTLP exporter (issue 14: "a well-kept library if it works on Bun and
 * stays within budget; otherwise a small OTLP/HTTP JSON exporter"): ours
 * (src/tracing/otlp.ts) against OpenTelemetry's SDK (@opentelemetry/sdk-trace
 * BatchSpanProcessor + @opentelemetry/exporter-trace-otlp-http, JSON), the
 * same spans (a server and a client span per request, the attributes the
 * gateway sets), the same queue, batch and delay, to the same loopback
 * collector, at the same request rate, each in its own process pinned to CPU 0
 * (bench/fixtures/span-producer.ts), alternating for R rounds.
 *
 *   bun bench/otlp-exporters.ts [--requests N] [--rate R] [--rounds K]
 */
import { join, resolve } from "node:path";
import { freePort } from "../test/helpers/ports.ts";
import { killChildren, median, option, pin, spawnChild, waitPort } from "./lib.ts";

const ROOT = resolve(import.meta.dir, "..");
const args = process.argv.slice(2);
const N = Number(option(args, "requests", "40000"));
const RATE = Number(option(args, "rate", "20000"));
const ROUNDS = Number(option(args, "rounds", "3"));

const port = await freePort();
spawnChild([...pin(1), "bun", join(ROOT, "bench/fixtures/otlp-collector.ts"), String(port)]);
await waitPort(port);
const url = `http://127.0.0.1:${port}/v1/traces`;

interface Result { cpu_us_per_req: number; hot_us_per_req: number; hot_max_us_per_req: number; wall_ms: number; spans_received: number; spans_sent: number }
const results: Record<string, Result[]> = { ours: [], otel: [] };
for (let r = 0; r < ROUNDS; r++) {
  for (const which of r % 2 === 0 ? ["ours", "otel"] : ["otel", "ours"]) {
    const p = Bun.spawn([...pin(0), "bun", join(ROOT, "bench/fixtures/span-producer.ts"), which, url, String(N), String(RATE)], { stdout: "pipe", stderr: "inherit" });
    const out = await new Response(p.stdout).text();
    await p.exited;
    results[which]!.push(JSON.parse(out.trim().split("\n").at(-1)!) as Result);
  }
}
const row = (name: string, label: string) => {
  const rs = results[name]!;
  const m = (f: (x: Result) => number) => median(rs.map(f));
  return `| ${label} | ${m((x) => x.cpu_us_per_req).toFixed(2)} | ${m((x) => x.hot_us_per_req).toFixed(2)} | ${m((x) => x.hot_max_us_per_req).toFixed(1)} | ${rs.map((x) => `${x.spans_received}/${x.spans_sent}`).join(", ")} |`;
};
console.log(
  [
    `OTLP exporters ${new Date().toISOString()}: \`bun bench/otlp-exporters.ts ${args.join(" ")}\``,
    `${N} requests (2 spans each) at ${RATE} req/s, ${ROUNDS} rounds, producer pinned to CPU 0, collector to CPU 1; medians`,
    "",
    "| exporter | CPU µs/request, all of it | request path µs/request | worst 100-request chunk, µs/request | spans at the collector / sent |",
    "| --- | --- | --- | --- | --- |",
    row("ours", "ours (src/tracing/otlp.ts)"),
    row("otel", "OpenTelemetry SDK 3.1 + exporter-trace-otlp-http 0.301 (JSON)"),
  ].join("\n"),
);
killChildren();
process.exit(0);
