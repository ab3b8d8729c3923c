import { afterAll, describe, expect, test } from "bun:test";
import { encodeRequest } from "../../src/bench/http.ts";
import { runLoad } from "../../src/bench/load.ts";
import { summarize } from "../../src/bench/stats.ts";

// A real server on loopback: answers at once, except while `stallUntil` is in the future.
let stallUntil = 0;
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch() {
    const wait = stallUntil - performance.now();
    if (wait > 0) await Bun.sleep(wait);
    return new Response("ok");
  },
});
afterAll(() => server.stop(true));
const request = encodeRequest({ method: "GET", path: "/", host: `127.0.0.1:${server.port}` });

describe("bench load generator", () => {
  test("closed loop: bounded by maxRequests, every answer recorded", async () => {
    const rec = await runLoad({ hostname: "127.0.0.1", port: server.port!, request, connections: 4, durationMs: 5000, maxRequests: 500 });
    const s = summarize(rec);
    expect(s.requests).toBe(500);
    expect(s.ok).toBe(500);
    expect(s.failed).toBe(0);
    expect(rec.elapsedMs).toBeLessThan(5000);
  });

  test("open model at a constant rate, bounded in time", async () => {
    const rec = await runLoad({ hostname: "127.0.0.1", port: server.port!, request, connections: 4, durationMs: 400, rate: 500 });
    const s = summarize(rec);
    // 500 req/s for 0.4 s: about 200 requests due, all served.
    expect(s.requests).toBeGreaterThanOrEqual(190);
    expect(s.requests).toBeLessThanOrEqual(202);
    expect(s.failed).toBe(0);
  });

  test("coordinated omission: a 150 ms stall counts against every request due during it", async () => {
    const t = performance.now();
    // One connection: while it waits for the stalled answer, the requests falling due queue up behind it.
    setTimeout(() => (stallUntil = performance.now() + 150), 100);
    const rec = await runLoad({ hostname: "127.0.0.1", port: server.port!, request, connections: 1, durationMs: 500, rate: 200 });
    expect(performance.now() - t).toBeLessThan(2000);
    const s = summarize(rec);
    // ~30 requests were due in the stall; measured from their due times, they waited up to ~150 ms.
    // Measured from the send (wrk's way), only one would show it: p90 ≥ 30 ms says the wait is counted.
    expect(s.latency.max).toBeGreaterThan(120);
    expect(s.latency.p90).toBeGreaterThan(30);
    expect(s.failed).toBe(0);
  });

  test("at the end, due requests drain; what cannot be sent within the timeout is unsent backlog, not failed", async () => {
    const slow = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Bun.sleep(40).then(() => new Response("ok")) });
    try {
      const req = encodeRequest({ method: "GET", path: "/", host: "x" });
      // One connection at 40 ms per answer serves 25 req/s; 200 req/s for 0.2 s puts 40 due.
      const t = performance.now();
      const rec = await runLoad({ hostname: "127.0.0.1", port: slow.port!, request: req, connections: 1, durationMs: 200, rate: 200, timeoutMs: 300 });
      expect(performance.now() - t).toBeLessThan(1200);
      const s = summarize(rec);
      expect(s.failed).toBe(0);
      expect(s.ok).toBeGreaterThanOrEqual(5); // in the run and in the drain
      expect(s.unsent).toBeGreaterThan(10);
      expect(s.ok + s.unsent).toBeLessThanOrEqual(41);
      expect(s.statuses.unsent).toBe(s.unsent);
    } finally {
      slow.stop(true);
    }
  });

  test("nothing listening: every request fails, the run still ends on time", async () => {
    const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = probe.port;
    probe.stop(true);
    const t = performance.now();
    const rec = await runLoad({ hostname: "127.0.0.1", port, request, connections: 2, durationMs: 200, rate: 100, timeoutMs: 500 });
    expect(performance.now() - t).toBeLessThan(1500);
    const s = summarize(rec);
    expect(s.ok).toBe(0);
    expect(s.failed).toBeGreaterThan(10);
    expect(rec.errors.connect_refused).toBeGreaterThan(0);
  });
});
