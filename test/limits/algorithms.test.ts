import { describe, expect, test } from "bun:test";
import { newDecision, type CompiledLimit } from "../../src/limits/algorithms/types.ts";
import { releaseConcurrency } from "../../src/limits/algorithms/concurrency.ts";
import { compileLimit } from "../../src/limits/compile.ts";
import { hashKey } from "../../src/limits/hash.ts";
import { allocateLimiterTable, attachLimiterTable, findSlot, type LimiterTable } from "../../src/limits/slot-table.ts";
import { ConfigError } from "../../src/errors.ts";
import { limit } from "./helpers.ts";

const DAY = 86_400_000;

function setup(cfg: Parameters<typeof limit>[0]) {
  const table = attachLimiterTable(allocateLimiterTable(1024));
  const lim = compileLimit(limit(cfg), 1);
  return { table, lim };
}

/** Decide once for `key` at `now`. */
function hit(table: LimiterTable, lim: CompiledLimit, now: number, key = "k", scale = 1) {
  const [a, b] = hashKey(table.seedA, table.seedB, key);
  const slot = findSlot(table, a, b, now, lim.index);
  const d = newDecision();
  lim.impl.decide(table, slot, lim, now, scale, d);
  return { ...d, slot, a, b };
}

function admitted(table: LimiterTable, lim: CompiledLimit, now: number, n: number, key = "k"): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (hit(table, lim, now, key).allowed) ok++;
  return ok;
}

const T0 = 1_700_000_000_000 - (1_700_000_000_000 % DAY); // a UTC midnight

describe("token_bucket (GCRA)", () => {
  test("admits exactly the burst at once, then refills at limit per window", () => {
    const { table, lim } = setup({ algorithm: "token_bucket", limit: 10, window: 1000, burst: 5 });
    expect(admitted(table, lim, T0, 20)).toBe(5);
    expect(admitted(table, lim, T0 + 100, 5)).toBe(1); // one token per 100 ms
    expect(admitted(table, lim, T0 + 350, 5)).toBe(2);
    expect(admitted(table, lim, T0 + 10_000, 20)).toBe(5); // full again, capped at burst
  });
  test("burst defaults to the limit; remaining, reset and retry-after", () => {
    const { table, lim } = setup({ algorithm: "token_bucket", limit: 4, window: 2000 });
    const first = hit(table, lim, T0);
    expect(first).toMatchObject({ allowed: true, limit: 4, remaining: 3, resetMs: 500 });
    admitted(table, lim, T0, 3);
    const refused = hit(table, lim, T0);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 500 });
  });
  test("sub-millisecond emission interval keeps its precision", () => {
    const { table, lim } = setup({ algorithm: "token_bucket", limit: 100_000, window: 1000, burst: 10 });
    expect(lim.unitMs).toBe(0.001);
    expect(admitted(table, lim, T0, 50)).toBe(10);
    expect(admitted(table, lim, T0 + 0.05, 50)).toBe(5); // 10 µs per token
  });
  test("a month-long bucket picks a coarser unit and still counts exactly", () => {
    const { table, lim } = setup({ algorithm: "token_bucket", limit: 1000, window: 30 * DAY });
    expect(lim.unitMs).toBe(1000);
    expect(admitted(table, lim, T0, 1200)).toBe(1000);
    expect(admitted(table, lim, T0 + 3 * DAY, 200)).toBe(100);
  });
  test("scale shrinks rate and burst", () => {
    const { table, lim } = setup({ algorithm: "token_bucket", limit: 10, window: 1000 });
    let ok = 0;
    for (let i = 0; i < 20; i++) if (hit(table, lim, T0, "k", 0.5).allowed) ok++;
    expect(ok).toBe(5);
  });
});

describe("leaky_bucket (nginx limit_req)", () => {
  test("nodelay: burst + 1 at once, then one per interval", () => {
    const { table, lim } = setup({ algorithm: "leaky_bucket", limit: 10, window: 1000, burst: 3 });
    expect(admitted(table, lim, T0, 10)).toBe(4);
    expect(admitted(table, lim, T0 + 99, 3)).toBe(0);
    expect(admitted(table, lim, T0 + 100, 3)).toBe(1);
  });
  test("burst 0: exactly one per interval", () => {
    const { table, lim } = setup({ algorithm: "leaky_bucket", limit: 5, window: 1000 });
    expect(admitted(table, lim, T0, 5)).toBe(1);
    expect(admitted(table, lim, T0 + 199, 5)).toBe(0);
    expect(admitted(table, lim, T0 + 200, 5)).toBe(1);
  });
  test("delay: queued requests wait their turn, excess beyond burst refused", () => {
    const { table, lim } = setup({ algorithm: "leaky_bucket", limit: 10, window: 1000, burst: 2, delay: true });
    expect(hit(table, lim, T0)).toMatchObject({ allowed: true, delayMs: 0 });
    expect(hit(table, lim, T0)).toMatchObject({ allowed: true, delayMs: 100 });
    expect(hit(table, lim, T0)).toMatchObject({ allowed: true, delayMs: 200 });
    expect(hit(table, lim, T0)).toMatchObject({ allowed: false, retryAfterMs: 100 });
    expect(hit(table, lim, T0 + 150)).toMatchObject({ allowed: true, delayMs: 150 });
  });
});

describe("fixed_window", () => {
  test("exactly limit per window, reset at the boundary", () => {
    const { table, lim } = setup({ algorithm: "fixed_window", limit: 7, window: 10_000 });
    expect(admitted(table, lim, T0 + 1, 20)).toBe(7);
    const refused = hit(table, lim, T0 + 4000);
    expect(refused).toMatchObject({ allowed: false, retryAfterMs: 6000, resetMs: 6000 });
    expect(admitted(table, lim, T0 + 9999, 5)).toBe(0);
    expect(admitted(table, lim, T0 + 10_000, 20)).toBe(7);
  });
  test("calendar quota: a 1d window resets at UTC midnight, not 24 h after first use", () => {
    const { table, lim } = setup({ algorithm: "fixed_window", limit: 3, window: DAY });
    expect(lim.calendar).toBe(true);
    const evening = T0 + 23 * 3_600_000; // 23:00 UTC
    expect(admitted(table, lim, evening, 5)).toBe(3);
    expect(hit(table, lim, evening).retryAfterMs).toBe(3_600_000);
    expect(admitted(table, lim, T0 + DAY, 5)).toBe(3); // 00:00 UTC next day
  });
  test("remaining counts down", () => {
    const { table, lim } = setup({ algorithm: "fixed_window", limit: 3, window: 1000 });
    expect([0, 1, 2].map(() => hit(table, lim, T0).remaining)).toEqual([2, 1, 0]);
  });
  test("state older than 64 windows is stale, not aliased", () => {
    const { table, lim } = setup({ algorithm: "fixed_window", limit: 2, window: 1000 });
    expect(admitted(table, lim, T0, 5)).toBe(2);
    expect(admitted(table, lim, T0 + 64_000, 5)).toBe(2);
  });
});

describe("sliding_window", () => {
  test("exactly limit in the first window", () => {
    const { table, lim } = setup({ algorithm: "sliding_window", limit: 10, window: 1000 });
    expect(admitted(table, lim, T0 + 100, 30)).toBe(10);
  });
  test("previous window weighs in proportionally", () => {
    const { table, lim } = setup({ algorithm: "sliding_window", limit: 10, window: 1000 });
    expect(admitted(table, lim, T0 + 900, 10)).toBe(10);
    // 25 % into the next window: 10 × 0.75 = 7.5 still counted → 2 more fit (7.5 + 2 + 1 > 10 for the third).
    expect(admitted(table, lim, T0 + 1250, 10)).toBe(2);
    // 75 % in: 10 × 0.25 + 2 = 4.5 → 5 more.
    expect(admitted(table, lim, T0 + 1750, 10)).toBe(5);
  });
  test("retry-after points at when the estimate allows one more", () => {
    const { table, lim } = setup({ algorithm: "sliding_window", limit: 4, window: 1000 });
    admitted(table, lim, T0 + 500, 4);
    const r = hit(table, lim, T0 + 1000);
    expect(r.allowed).toBe(false);
    // prev 4 × (1 - e) ≤ 3 → e ≥ 0.25 → 250 ms
    expect(r.retryAfterMs).toBe(250);
    expect(hit(table, lim, T0 + 1250).allowed).toBe(true);
  });
  test("calendar quota aligned to UTC midnight", () => {
    const { table, lim } = setup({ algorithm: "sliding_window", limit: 100, window: DAY });
    expect(admitted(table, lim, T0 + 12 * 3_600_000, 150)).toBe(100);
    // Next day 06:00: 100 × 0.75 = 75 counted → 25 more (75 + 25 = 100).
    expect(admitted(table, lim, T0 + DAY + 6 * 3_600_000, 50)).toBe(25);
  });
});

describe("concurrency", () => {
  test("limit in flight; release gives back; double release is harmless", () => {
    const { table, lim } = setup({ algorithm: "concurrency", limit: 2, window: 0 });
    const a = hit(table, lim, T0);
    const b = hit(table, lim, T0);
    expect(a.allowed && b.allowed).toBe(true);
    expect(hit(table, lim, T0).allowed).toBe(false);
    releaseConcurrency(table, a.slot, a.a, a.b);
    expect(hit(table, lim, T0).allowed).toBe(true);
    // Releases beyond what is held never go below zero.
    for (let i = 0; i < 5; i++) releaseConcurrency(table, a.slot, a.a, a.b);
    expect(admitted(table, lim, T0, 5)).toBe(2);
  });
  test("a count leaked for a whole lease is dropped", () => {
    const { table, lim } = setup({ algorithm: "concurrency", limit: 1, window: 5000 });
    expect(hit(table, lim, T0).allowed).toBe(true);
    expect(hit(table, lim, T0 + 1000).allowed).toBe(false);
    expect(hit(table, lim, T0 + 7000).allowed).toBe(true);
  });
});

describe("compileLimit validation", () => {
  const bad: [string, Parameters<typeof limit>[0]][] = [
    ["limit 0", { algorithm: "fixed_window", limit: 0 }],
    ["fractional limit", { algorithm: "fixed_window", limit: 1.5 }],
    ["window 0", { algorithm: "token_bucket", limit: 1, window: 0 }],
    ["negative burst", { algorithm: "token_bucket", limit: 1, burst: -1 }],
    ["window limit too large", { algorithm: "sliding_window", limit: 2 ** 27 }],
    ["delay on token bucket", { algorithm: "token_bucket", limit: 1, delay: true }],
    ["unknown algorithm", { algorithm: "nope" as "fixed_window", limit: 1 }],
    ["empty key", { algorithm: "fixed_window", limit: 1, key: [] }],
    ["unknown key part", { algorithm: "fixed_window", limit: 1, key: ["cookie:sid"] }],
    ["bad adaptive", { algorithm: "fixed_window", limit: 1, adaptive: { lag_threshold: 0, min_factor: 2 } }],
    ["absurd bucket span", { algorithm: "token_bucket", limit: 1, window: 2 ** 62, burst: 1 }],
  ];
  for (const [name, cfg] of bad) {
    test(`rejects ${name}`, () => {
      expect(() => compileLimit(limit({ id: "r#0", ...cfg }), 1)).toThrow(ConfigError);
    });
  }
  test("messages name the limit id", () => {
    expect(() => compileLimit(limit({ id: "users#3", algorithm: "fixed_window", limit: 0 }), 1)).toThrow(/rate limit "users#3": limit/);
  });
});
