/**
 * Balancer pick cost: ns per UpstreamRuntime.pick() for every algorithm, with
 * 3 and 50 targets, through the real runtime over a SharedArrayBuffer (health,
 * passive and breaker configured, all targets up). The "modulo" row is the
 * floor: a bare `next++ % n` with no shared state, the stub the runtime
 * replaces.
 *
 *   bun bench/balancer.bench.ts            # every algorithm in one process
 *   bun bench/balancer.bench.ts least_conn # only rows whose name contains it
 *
 * In one process, Upstream.pick's call into the balancer sees all eight
 * balancer classes and goes megamorphic, which inflates every row; a gateway
 * runs one or two kinds. Run one algorithm per process for its own cost.
 *
 * Each iteration does PICKS picks over PICKS different requests (client IPs,
 * paths, headers), so hash balancers see varied keys; the table divides by it.
 */

import { bench, do_not_optimize, group, run } from "mitata";
import type { BalancerName, UpstreamConfig } from "../src/config/types.ts";
import { createUpstreamRuntime, type Upstream } from "../src/upstream/runtime.ts";
import { allocateUpstreamState, UpstreamStateView } from "../src/upstream/shared-state.ts";
import { ctx, upstream } from "../test/upstream/helpers.ts";

const PICKS = 1024;
const requests = Array.from({ length: PICKS }, (_, k) =>
  ctx({ clientIp: `10.${k >> 8}.${k & 255}.7`, path: `/users/${k}`, headers: { "x-user": `u${k}` } }),
);

function runtime(balancer: BalancerName, n: number, hashKey: string | null = null, now?: () => number): Upstream {
  const config: UpstreamConfig = upstream({
    balancer,
    hash_key: hashKey,
    targets: Array.from({ length: n }, (_, i) => ({ url: `http://10.0.${i >> 8}.${i & 255}:8080`, weight: 1 + (i % 3) })),
    passive: { max_fails: 3, fail_timeout: 10_000 },
    circuit_breaker: { failures: 5, open_for: 30_000, half_open_requests: 3, statuses: [500, 502, 503, 504] },
  });
  const sab = allocateUpstreamState([config]);
  const rt = createUpstreamRuntime(config, new UpstreamStateView(sab, [config]), 0, now);
  // Some latency and load figures so least_* have something to compare.
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 5; k++) {
      rt.onStart(i);
      rt.onEnd(i, false, 2 + (i % 7));
    }
    for (let k = 0; k < i % 4; k++) rt.onStart(i);
  }
  return rt;
}

const algorithms: [string, BalancerName, string | null][] = [
  ["round_robin", "round_robin", null],
  ["weighted", "weighted", null],
  ["least_conn", "least_conn", null],
  ["least_time", "least_time", null],
  ["ip_hash", "ip_hash", null],
  ["hash path", "hash", "path"],
  ["hash header", "hash", "header:x-user"],
  ["random", "random", null],
];

const filter = process.argv[2];
const wanted = (name: string) => !filter || name.includes(filter);
const labels: string[] = [];
for (const n of [3, 50]) {
  labels.push(`${n} targets`);
  group(`pick, ${n} targets`, () => {
    let next = 0;
    bench("modulo (floor)", () => {
      for (let k = 0; k < PICKS; k++) do_not_optimize(next++ % n);
    });
    for (const [name, balancer, key] of algorithms) {
      if (!wanted(name)) continue;
      const rt = runtime(balancer, n, key);
      bench(name, () => {
        for (let k = 0; k < PICKS; k++) do_not_optimize(rt.pick(requests[k]!, null));
      });
    }
  });
}

if (!filter) labels.push("other paths, 3 targets");
if (!filter) group("other paths, 3 targets", () => {
  const rr = runtime("round_robin", 3);
  bench("round_robin pick+onStart+onEnd", () => {
    for (let k = 0; k < PICKS; k++) {
      const i = rr.pick(requests[k]!, null);
      rr.onStart(i);
      rr.onEnd(i, false, 3);
    }
  });
  const lt = runtime("least_time", 3);
  bench("least_time pick+onStart+onEnd", () => {
    for (let k = 0; k < PICKS; k++) {
      const i = lt.pick(requests[k]!, null);
      lt.onStart(i);
      lt.onEnd(i, false, 3);
    }
  });
  const exclude = [1];
  bench("round_robin retry pick (1 excluded)", () => {
    for (let k = 0; k < PICKS; k++) do_not_optimize(rr.pick(requests[k]!, exclude));
  });
  const hp = runtime("hash", 3, "path");
  bench("hash path retry pick (1 excluded)", () => {
    for (let k = 0; k < PICKS; k++) do_not_optimize(hp.pick(requests[k]!, exclude));
  });
  // One target's breaker open: every pick also checks the clock for its deadline.
  const degraded = runtime("round_robin", 3);
  for (let k = 0; k < 5; k++) {
    degraded.onStart(2);
    degraded.onEnd(2, true, 1);
  }
  bench("round_robin, 1 breaker open", () => {
    for (let k = 0; k < PICKS; k++) do_not_optimize(degraded.pick(requests[k]!, null));
  });
});

const { benchmarks } = await run();

const groups = new Map<number, { name: string; ns: number }[]>();
for (const trial of benchmarks) {
  const stats = trial.runs[0]?.stats;
  if (!stats) continue;
  const id = (trial as unknown as { group: number }).group;
  if (!groups.has(id)) groups.set(id, []);
  groups.get(id)!.push({ name: trial.alias, ns: stats.avg / PICKS });
}
const lines = ["| group | balancer | ns/pick | × modulo |", "| --- | --- | ---: | ---: |"];
[...groups.values()].forEach((rows, gi) => {
  const floor = rows.find((r) => r.name === "modulo (floor)")?.ns;
  for (const row of rows) {
    lines.push(`| ${labels[gi]} | ${row.name} | ${row.ns.toFixed(1)} | ${floor ? (row.ns / floor).toFixed(1) : ""} |`);
  }
});
console.log("\n" + lines.join("\n"));
