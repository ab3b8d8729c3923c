import { describe, expect, test } from "bun:test";
import type { RateLimitConfig } from "../../src/config/types.ts";
import { allocateLimiterTable } from "../../src/limits/index.ts";
import { limit } from "./helpers.ts";

const WORKERS = 4;
const REQUESTS = 3000;

/** 4 real worker threads share one table and hammer one key; returns admissions per worker. */
async function hammer(limits: RateLimitConfig[]): Promise<number[]> {
  const shared = allocateLimiterTable(1024);
  const barrier = new SharedArrayBuffer(8);
  const b = new Int32Array(barrier);
  const workers = Array.from({ length: WORKERS }, () => new Worker(new URL("./fixtures/hammer-worker.ts", import.meta.url).href));
  const done = workers.map(
    (w) =>
      new Promise<number>((resolve, reject) => {
        w.onmessage = (ev) => resolve((ev.data as { admitted: number }).admitted);
        w.onerror = (e) => reject(e);
      }),
  );
  for (const w of workers) w.postMessage({ shared, barrier, limits, now: 1_700_000_000_123, requests: REQUESTS });
  const deadline = Date.now() + 10_000;
  while (Atomics.load(b, 0) < WORKERS && Date.now() < deadline) await Bun.sleep(5);
  Atomics.store(b, 1, 1);
  Atomics.notify(b, 1);
  try {
    return await Promise.all(done);
  } finally {
    for (const w of workers) w.terminate();
  }
}

const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);

describe("4 worker threads sharing the table admit exactly the budget", () => {
  const cases: [string, Parameters<typeof limit>[0], number][] = [
    ["fixed_window", { algorithm: "fixed_window", limit: 500, window: 3_600_000 }, 500],
    ["sliding_window", { algorithm: "sliding_window", limit: 500, window: 3_600_000 }, 500],
    ["token_bucket", { algorithm: "token_bucket", limit: 500, window: 3_600_000 }, 500],
    ["leaky_bucket nodelay", { algorithm: "leaky_bucket", limit: 10, window: 3_600_000, burst: 499 }, 500],
    ["concurrency (never released)", { algorithm: "concurrency", limit: 500, window: 60_000 }, 500],
  ];
  for (const [name, cfg, expected] of cases) {
    test(name, async () => {
      const perWorker = await hammer([limit({ id: `hammer#${name}`, ...cfg })]);
      expect(sum(perWorker)).toBe(expected);
    });
  }
  test("limit of 10 admits 10, never 40", async () => {
    const perWorker = await hammer([limit({ id: "hammer#ten", algorithm: "fixed_window", limit: 10, window: 60_000 })]);
    expect(sum(perWorker)).toBe(10);
  });
  test("two limits at once: the tighter one decides and rolled-back units are not lost", async () => {
    const perWorker = await hammer([
      limit({ id: "hammer#wide", algorithm: "fixed_window", limit: 1000, window: 60_000 }),
      limit({ id: "hammer#tight", algorithm: "token_bucket", limit: 300, window: 3_600_000 }),
    ]);
    expect(sum(perWorker)).toBe(300);
  });
});
