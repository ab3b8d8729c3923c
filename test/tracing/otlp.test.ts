import { expect, test } from "bun:test";
import { OtlpExporter, type SpanRecord } from "../../src/tracing/otlp.ts";
import { until } from "../helpers/wait.ts";

const span = (i: number): SpanRecord => ({
  traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
  spanId: (i + 1).toString(16).padStart(16, "0"),
  parentSpanId: null,
  name: "GET",
  kind: 2,
  startMs: performance.now(),
  endMs: performance.now() + 1,
  attributes: [["http.request.method", "GET"]],
  error: false,
});

test("the queue is bounded: while the collector stalls, spans past maxQueue are dropped and counted, never waited for; the rest go out once it answers", async () => {
  let release!: () => void;
  const stalled = new Promise<void>((r) => (release = r));
  const batches: number[] = [];
  // A real loopback collector that holds its first answer until told.
  const collector = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const doc = (await req.json()) as { resourceSpans: { scopeSpans: { spans: unknown[] }[] }[] };
      batches.push(doc.resourceSpans[0]!.scopeSpans[0]!.spans.length);
      if (batches.length === 1) await stalled;
      return Response.json({});
    },
  });
  let exported = 0;
  let dropped = 0;
  const e = new OtlpExporter(`http://127.0.0.1:${collector.port}/v1/traces`, { exported: (n) => (exported += n), dropped: (n) => (dropped += n) }, { maxQueue: 10, batchSize: 4, intervalMs: 20 });
  try {
    for (let i = 0; i < 4; i++) e.add(span(i));
    await until("the first batch is at the collector", () => batches.length === 1);
    // The sender waits on the collector; the request path must not.
    const t0 = performance.now();
    for (let i = 4; i < 19; i++) e.add(span(i));
    expect(performance.now() - t0).toBeLessThan(5);
    expect(e.queued).toBe(10);
    expect(dropped).toBe(5);
    release();
    await until("everything queued is sent", () => exported === 14, 5000);
    expect(batches).toEqual([4, 4, 4, 2]);
    expect(dropped).toBe(5);
    expect(e.queued).toBe(0);
  } finally {
    release();
    await e.stop();
    collector.stop(true);
  }
});

test("a collector answering an error drops its batch (counted), no retry backlog", async () => {
  let posts = 0;
  const collector = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => (posts++, new Response("no", { status: 503 })) });
  let exported = 0;
  let dropped = 0;
  const e = new OtlpExporter(`http://127.0.0.1:${collector.port}/v1/traces`, { exported: (n) => (exported += n), dropped: (n) => (dropped += n) }, { batchSize: 2, intervalMs: 20 });
  try {
    for (let i = 0; i < 5; i++) e.add(span(i));
    await until("all dropped", () => dropped === 5, 5000);
    await Bun.sleep(100);
    expect(posts).toBe(3);
    expect(exported).toBe(0);
  } finally {
    await e.stop();
    collector.stop(true);
  }
});

test("a full batch goes out at once, not at the next tick: a burst of 5 batches with a 1-minute timer is all sent", async () => {
  let spans = 0;
  const collector = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: async (req) => {
      const doc = (await req.json()) as { resourceSpans: { scopeSpans: { spans: unknown[] }[] }[] };
      spans += doc.resourceSpans[0]!.scopeSpans[0]!.spans.length;
      return Response.json({});
    },
  });
  let dropped = 0;
  const e = new OtlpExporter(`http://127.0.0.1:${collector.port}/v1/traces`, { exported: () => {}, dropped: (n) => (dropped += n) }, { maxQueue: 64, batchSize: 16, intervalMs: 60_000 });
  try {
    // 80 spans through a 64-span queue, yielding between batches as a loaded worker's event loop does.
    for (let b = 0; b < 5; b++) {
      for (let i = 0; i < 16; i++) e.add(span(b * 16 + i));
      await Bun.sleep(20);
    }
    await until("all 80 at the collector", () => spans === 80, 3000);
    expect(dropped).toBe(0);
  } finally {
    await e.stop();
    collector.stop(true);
  }
});
