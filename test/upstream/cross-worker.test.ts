import { afterAll, expect, test } from "bun:test";
import { createUpstreamRuntime } from "../../src/upstream/runtime.ts";
import { allocateUpstreamState, UpstreamStateView } from "../../src/upstream/shared-state.ts";
import { upstream, urls } from "./helpers.ts";

const PERMITS = 40;
const OPEN_FOR = 1000;
const config = upstream({ targets: urls(1), circuit_breaker: { failures: 1, open_for: OPEN_FOR, half_open_requests: PERMITS, statuses: [] } });
const sab = allocateUpstreamState([config]);
const gateBuf = new SharedArrayBuffer(8);
const gate = new Int32Array(gateBuf);
const clockBuf = new SharedArrayBuffer(8);
const clock = new Float64Array(clockBuf);
clock[0] = 1_000_000;
const main = createUpstreamRuntime(config, new UpstreamStateView(sab, [config]), 0, () => clock[0]!);

const workers = [0, 1].map(() => new Worker(new URL("./fixtures/upstream-worker.ts", import.meta.url)));
afterAll(() => {
  for (const w of workers) w.terminate();
});

function next(w: Worker): Promise<{ admitted?: number; ready?: boolean; picked?: number }> {
  return new Promise((resolve, reject) => {
    w.addEventListener("message", (e) => resolve(e.data), { once: true });
    w.addEventListener("error", (e) => reject(e), { once: true });
  });
}

test("half-open admits exactly half_open_requests probes across two worker threads", async () => {
  await Promise.all(workers.map((w) => {
    const ready = next(w);
    w.postMessage({ init: { sab, upstreams: [config], gate: gateBuf, clock: clockBuf } });
    return ready;
  }));
  // Open the breaker from the main thread.
  main.onStart(0);
  main.onEnd(0, true, 1);
  for (let round = 1; round <= 10; round++) {
    clock[0]! += OPEN_FOR;
    const results = workers.map((w) => next(w));
    for (const w of workers) w.postMessage({ round });
    while (Atomics.load(gate, 1) < 2 * round) await Bun.sleep(1);
    // Both are spinning at the gate: release them together.
    Atomics.store(gate, 0, round);
    Atomics.notify(gate, 0);
    const counts = (await Promise.all(results)).map((r) => r.admitted!);
    expect(counts[0]! + counts[1]!).toBe(PERMITS);
    // A probe fails: open again for the next round.
    main.onStart(0);
    main.onEnd(0, true, 1);
    expect(new UpstreamStateView(sab, [config]).snapshot()[0]!.targets[0]!.breaker).toBe("open");
  }
});

test("request cycles from two threads at once: in-flight returns to 0, counters add up", async () => {
  const lc = upstream({ balancer: "least_conn", targets: urls(4), retries: 0 });
  const shared = allocateUpstreamState([lc]);
  const results = workers.map((w) => next(w));
  for (const w of workers) w.postMessage({ cycles: { sab: shared, upstreams: [lc], n: 20_000 } });
  const picked = (await Promise.all(results)).reduce((sum, r) => sum + r.picked!, 0);
  expect(picked).toBe(40_000);
  const targets = new UpstreamStateView(shared, [lc]).snapshot()[0]!.targets;
  expect(targets.reduce((sum, t) => sum + t.requests, 0)).toBe(40_000);
  expect(targets.reduce((sum, t) => sum + t.failures, 0)).toBe(4_000);
  for (const t of targets) {
    expect(t.in_flight).toBe(0);
    expect(t.requests).toBeGreaterThan(5_000);
  }
});
