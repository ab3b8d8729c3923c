import { describe, expect, test } from "bun:test";
import { exposition } from "../../src/metrics/exposition.ts";
import { allocateMetrics, SharedRegistry } from "../../src/metrics/registry.ts";
import { parsePrometheus, valueOf } from "../helpers/prometheus.ts";

describe("shared registry", () => {
  test("counters, gauges and histograms expose as valid 0.0.4 text", () => {
    const r = new SharedRegistry(allocateMetrics());
    r.counter("t_total", 'help with \\ and\nnewline', ["a"]).inc(['x"y\\z\nw'], 3);
    r.gauge("t_gauge", "g").set(undefined, 2.5);
    r.gauge("t_gauge", "g").inc(undefined, -1);
    const h = r.histogram("t_seconds", "h", ["r"], [0.1, 1]);
    h.observe(["a"], 0.05);
    h.observe(["a"], 0.5);
    h.observe(["a"], 5);
    const fams = parsePrometheus(exposition(r.shared));
    expect(fams.get("t_total")!.help).toBe("help with \\ and\nnewline");
    expect(valueOf(fams, "t_total", { a: 'x"y\\z\nw' })).toBe(3);
    expect(valueOf(fams, "t_gauge")).toBe(1.5);
    expect(valueOf(fams, "t_seconds_bucket", { r: "a", le: "0.1" })).toBe(1);
    expect(valueOf(fams, "t_seconds_bucket", { r: "a", le: "1" })).toBe(2);
    expect(valueOf(fams, "t_seconds_bucket", { r: "a", le: "+Inf" })).toBe(3);
    expect(valueOf(fams, "t_seconds_sum", { r: "a" })).toBeCloseTo(5.55, 5);
  });

  test("64-bit counters carry past 2^32", () => {
    const r = new SharedRegistry(allocateMetrics());
    const c = r.counter("big_total", "b").labels();
    c.inc(4294967295);
    c.inc(2);
    c.inc(2 ** 40);
    expect(valueOf(parsePrometheus(exposition(r.shared)), "big_total")).toBe(4294967297 + 2 ** 40);
  });

  test("redeclaring agrees or throws; bad names and label counts throw", () => {
    const r = new SharedRegistry(allocateMetrics());
    r.counter("same_total", "s", ["a"]);
    expect(() => r.counter("same_total", "s", ["a"])).not.toThrow();
    expect(() => r.gauge("same_total", "s", ["a"])).toThrow(/already declared/);
    expect(() => r.counter("bad-name", "x")).toThrow(/valid Prometheus name/);
    expect(() => r.counter("ok_total", "x", ["__x"])).toThrow(/label name/);
    expect(() => r.histogram("h_seconds", "x", ["le"])).toThrow(/le/);
    expect(() => r.histogram("h2_seconds", "x", [], [1, 0.5])).toThrow(/increasing/);
    expect(() => r.counter("same_total", "s", ["a"]).inc([])).toThrow(/takes 1 label/);
  });

  test("cardinality is bounded: label sets past capacity are dropped and counted", () => {
    const r = new SharedRegistry(allocateMetrics({ series: 8, cells: 64, keyBytes: 4096 }));
    const c = r.counter("many_total", "m", ["v"]);
    for (let i = 0; i < 20; i++) c.inc([String(i)]);
    const fams = parsePrometheus(exposition(r.shared));
    expect(fams.get("many_total")!.samples.length).toBe(7);
    expect(valueOf(fams, "gateway_metrics_series_dropped_total")).toBe(13);
  });

  test("threads declaring and counting the same series at once share one cell", async () => {
    const sab = allocateMetrics();
    const src = `
      import { SharedRegistry } from ${JSON.stringify(new URL("../../src/metrics/registry.ts", import.meta.url).pathname)};
      self.onmessage = (e) => {
        const r = new SharedRegistry(e.data);
        const c = r.counter("race_total", "r", ["k"]);
        const h = r.histogram("race_seconds", "r");
        for (let i = 0; i < 20000; i++) { c.inc([String(i % 50)]); h.observe(undefined, 0.001); }
        self.postMessage("done");
      };`;
    const url = URL.createObjectURL(new Blob([src], { type: "application/typescript" }));
    const workers = Array.from({ length: 4 }, () => new Worker(url));
    await Promise.all(workers.map((w) => new Promise((res) => ((w.onmessage = res), w.postMessage(sab)))));
    for (const w of workers) w.terminate();
    const fams = parsePrometheus(exposition(new SharedRegistry(sab).shared));
    expect(fams.get("race_total")!.samples.length).toBe(50);
    expect(valueOf(fams, "race_total")).toBe(80000);
    expect(valueOf(fams, "race_total", { k: "7" })).toBe(1600);
    expect(valueOf(fams, "race_seconds_count")).toBe(80000);
  });
});
