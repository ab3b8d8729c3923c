/**
 * Rate-limit decision cost.
 *
 *   bun bench/limits.bench.ts
 *
 * 1. Local decision per algorithm, key hash given: slot lookup + CAS decision
 *    (the engine's cost, budget < 150 ns).
 * 2. The whole policy per algorithm: key hashing from the request, clock,
 *    decision, RateLimit headers; peers in the same run: Date.now(), hashing
 *    one key, Bun.hash of the same key.
 * 3. The slot table at 1M distinct keys: memory, eviction rate after one and
 *    two passes, decision cost cycling through all keys (cache-missing), for
 *    a 1M-slot table (full: evicts) and a 2M-slot one.
 */
import { bench, do_not_optimize, group, run, summary } from "mitata";
import type { RateLimitAlgorithm } from "../src/config/types.ts";
import { newDecision } from "../src/limits/algorithms/types.ts";
import { compileLimit } from "../src/limits/compile.ts";
import { hashKey } from "../src/limits/hash.ts";
import { allocateLimiterShared, createLimiterRuntime } from "../src/limits/index.ts";
import { createRateLimitPolicy } from "../src/policies/rate-limit/policy.ts";
import { allocateLimiterTable, attachLimiterTable, findSlot, tableStats } from "../src/limits/slot-table.ts";
import { ctx, gatewayConfig, limit, route } from "../test/limits/helpers.ts";

const ALGOS: RateLimitAlgorithm[] = ["token_bucket", "sliding_window", "fixed_window", "leaky_bucket", "concurrency"];
// Limits far above what a bench run can use, so every decision admits (the common path).
const HUGE = 50_000_000;
const cfgFor = (algorithm: RateLimitAlgorithm, id: string) =>
  limit({ id, algorithm, limit: algorithm === "fixed_window" || algorithm === "sliding_window" ? 60_000_000 : algorithm === "concurrency" ? 1_000_000_000 : HUGE, window: 3_600_000, burst: algorithm === "leaky_bucket" ? HUGE : 0 });

// ---- 1. engine --------------------------------------------------------------
const table = attachLimiterTable(allocateLimiterTable(65536));
const NOW = Date.now();
group("local decision, key hash given (slot lookup + CAS)", () => {
  summary(() => {
    ALGOS.forEach((algo, i) => {
      const lim = compileLimit(cfgFor(algo, `bench#${algo}`), i + 1);
      const [a, b] = hashKey(table.seedA, table.seedB, `bench-key-${algo}`);
      const d = newDecision();
      bench(algo, () => {
        const slot = findSlot(table, a, b, NOW, lim.index);
        do_not_optimize(lim.impl.decide(table, slot, lim, NOW, 1, d));
        if (algo === "concurrency") lim.impl.undo(table, slot, lim, NOW);
      });
    });
  });
});

// ---- 2. policy --------------------------------------------------------------
group("whole policy onRequest (hash from ctx, Date.now, headers)", () => {
  summary(() => {
    for (const algo of ALGOS) {
      const r = route(`p-${algo}`, [cfgFor(algo, `policy#${algo}`)]);
      const config = gatewayConfig({ routes: [r], slots: 65536 });
      const runtime = createLimiterRuntime(config, allocateLimiterShared(config));
      const policy = createRateLimitPolicy(r, [], runtime)!;
      const c = ctx({ ip: "203.0.113.77" });
      // Warm up outside the timer: the first row of a group otherwise pays the JIT's tier-up.
      for (let i = 0; i < 20_000; i++) {
        c.responseHeaders = null;
        policy.onRequest!(c);
        if (c.cleanups) {
          c.cleanups[0]!();
          c.cleanups = null;
        }
      }
      bench(algo, () => {
        c.responseHeaders = null;
        do_not_optimize(policy.onRequest!(c));
        if (c.cleanups) {
          c.cleanups[0]!();
          c.cleanups = null;
        }
      });
    }
    bench("peer: Date.now()", () => do_not_optimize(Date.now()));
    bench("peer: hashKey (our 2×32-bit)", () => do_not_optimize(hashKey(1, 2, "policy#x\u0001203.0.113.77")));
    bench("peer: Bun.hash (wyhash, BigInt)", () => do_not_optimize(Bun.hash("policy#x\u0001203.0.113.77")));
  });
});

// ---- 3. one million keys -----------------------------------------------------
const KEYS = 1 << 20;
const ka = new Int32Array(KEYS);
const kb = new Int32Array(KEYS);
{
  const t = attachLimiterTable(allocateLimiterTable(64));
  for (let i = 0; i < KEYS; i++) {
    const [a, b] = hashKey(t.seedA, t.seedB, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    ka[i] = a;
    kb[i] = b;
  }
}
const fixed = compileLimit(limit({ id: "million#0", algorithm: "fixed_window", limit: 100, window: 3_600_000 }), 1);

function pass(t: ReturnType<typeof attachLimiterTable>): void {
  const d = newDecision();
  for (let i = 0; i < KEYS; i++) fixed.impl.decide(t, findSlot(t, ka[i]!, kb[i]!, NOW, 1), fixed, NOW, 1, d);
}

const million: string[] = [];
for (const slots of [1 << 20, 1 << 21]) {
  const heapBefore = process.memoryUsage().rss;
  const t = attachLimiterTable(allocateLimiterTable(slots));
  const t0 = performance.now();
  pass(t);
  const first = tableStats(t);
  pass(t);
  const second = tableStats(t);
  const ms = performance.now() - t0;
  million.push(
    `table ${slots} slots: ${(t.buffer.byteLength / 1048576).toFixed(1)} MiB shared (rss +${((process.memoryUsage().rss - heapBefore) / 1048576).toFixed(0)} MiB); ` +
      `after 1 pass of 1M keys: used ${first.used}, evictions ${first.evictions} (${((100 * first.evictions) / KEYS).toFixed(1)} %); ` +
      `after 2 passes: evictions ${second.evictions} (${((100 * second.evictions) / (2 * KEYS)).toFixed(1)} % of decisions); 2M decisions in ${ms.toFixed(0)} ms`,
  );
  group(`1M distinct keys cycling, table of ${slots} slots`, () => {
    let i = 0;
    const d = newDecision();
    bench("fixed_window decision (cache-missing)", () => {
      i = (i + 1) & (KEYS - 1);
      do_not_optimize(fixed.impl.decide(t, findSlot(t, ka[i]!, kb[i]!, NOW, 1), fixed, NOW, 1, d));
    });
  });
}

await run();
console.log("\n" + million.join("\n"));
