/**
 * Real threads over one arena: several `new Worker` threads map the same
 * SharedArrayBuffer (as the gateway's workers do) and race on it.
 */
import { expect, test } from "bun:test";
import { SharedStore } from "../../src/store/index.ts";
import type { Task } from "./fixtures/store-worker.ts";

const WORKER = new URL("./fixtures/store-worker.ts", import.meta.url);

async function runWorkers(n: number, task: (id: number) => Omit<Task, "id" | "workers" | "barrier">): Promise<any[]> {
  const barrier = new SharedArrayBuffer(4);
  const workers = Array.from({ length: n }, () => new Worker(WORKER));
  try {
    return await Promise.all(
      workers.map(
        (w, id) =>
          new Promise<any>((resolve, reject) => {
            w.onmessage = (ev) => resolve(ev.data);
            w.onerror = (ev) => reject(new Error(String((ev as ErrorEvent).message ?? ev)));
            w.postMessage({ ...task(id), id, workers: n, barrier } satisfies Task);
          }),
      ),
    );
  } finally {
    for (const w of workers) w.terminate();
  }
}

test("insertIfAbsent across 4 workers: exactly one winner per key", async () => {
  const buffer = SharedStore.allocate(4 << 20);
  const keys = 2000;
  const results = await runWorkers(4, () => ({ kind: "race", buffer, keys, ms: 0, writer: false }));
  const winners = new Map<number, number>();
  results.forEach((r, id) => {
    for (const k of r.won as number[]) {
      expect(winners.has(k)).toBe(false);
      winners.set(k, id);
    }
  });
  expect(winners.size).toBe(keys);
  const store = new SharedStore(buffer);
  for (const [k, id] of winners) expect(new TextDecoder().decode(store.get(`idem:${k}`)!.meta)).toBe(String(id));
  expect(store.stats().entries).toBe(keys);
}, 30_000);

test("get + compareAndSet counters across 4 workers: no increment lost or doubled", async () => {
  const buffer = SharedStore.allocate(1 << 20);
  const keys = 8;
  const results = await runWorkers(4, () => ({ kind: "cas", buffer, keys, ms: 600, writer: true }));
  const done = results.reduce((a, r) => a + r.done, 0);
  const store = new SharedStore(buffer);
  let sum = 0;
  for (let k = 0; k < keys; k++) sum += Number(new TextDecoder().decode(store.get(`ctr:${k}`)?.body ?? new Uint8Array(0)) || 0);
  expect(done).toBeGreaterThan(100);
  expect(sum).toBe(done);
}, 30_000);

test("concurrent set/get with eviction: readers never see a torn entry", async () => {
  // 256 KiB: bodies up to 4 KB over 300 keys do not fit, so writers evict while others read.
  const buffer = SharedStore.allocate(256 * 1024, { maxEntries: 200 });
  const results = await runWorkers(4, (id) => ({ kind: "churn", buffer, keys: 300, ms: 800, writer: id < 2 }));
  const sum = (f: string) => results.reduce((a, r) => a + r[f], 0);
  const store = new SharedStore(buffer);
  const st = store.stats();
  expect(sum("torn")).toBe(0);
  expect(sum("writes")).toBeGreaterThan(1000);
  expect(sum("hits")).toBeGreaterThan(1000);
  expect(sum("refused")).toBe(0);
  expect(st.evictions).toBeGreaterThan(0);
  expect(st.entries).toBeLessThanOrEqual(200);
  expect(st.usedBytes).toBeLessThanOrEqual(st.capacity);
  expect(st.hits + st.misses).toBe(sum("reads"));
}, 30_000);

test("concurrent set/read in place with eviction: a visitor's result is kept only for a consistent entry", async () => {
  const buffer = SharedStore.allocate(256 * 1024, { maxEntries: 200 });
  const results = await runWorkers(4, (id) => ({ kind: "churn", buffer, keys: 300, ms: 800, writer: id < 2, inPlace: true }));
  const sum = (f: string) => results.reduce((a, r) => a + r[f], 0);
  expect(sum("torn")).toBe(0);
  expect(sum("writes")).toBeGreaterThan(1000);
  expect(sum("hits")).toBeGreaterThan(1000);
  const st = new SharedStore(buffer).stats();
  expect(st.evictions).toBeGreaterThan(0);
  expect(st.hits + st.misses).toBe(sum("reads"));
}, 30_000);
