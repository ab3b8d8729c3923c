// bench-report.html without a browser: escaping, no external assets, one SVG plot per chart with data points.
// (The headless-Chromium check of a real run's report is in test/integration/bench-command.test.ts.)
import { expect, test } from "bun:test";
import type { BenchReport } from "../../src/bench/report.ts";
import { renderHtml } from "../../src/bench/report-html.ts";

const lat = { p50: 0.4, p90: 0.8, p99: 1.2, p999: 2, max: 3, mean: 0.5 };
const summary = { requests: 100, ok: 100, client_errors: 0, failed: 0, unsent: 0, rps: 1000, latency: lat, statuses: { "200": 100 }, errors: {} };

const report: BenchReport = {
  tool: "gateway bench",
  version: "0.1.0",
  commit: "abc",
  date: "2026-12-04T00:00:00.000Z",
  command: "gateway bench --route <script>alert(1)</script>",
  config: "/tmp/config.toml",
  gateway: "http://127.0.0.1:1",
  stub: { latency_ms: 1, body_bytes: 1024 },
  load: { duration: 1000, warmup: 0, connections: 4, rate: 0, rampSteps: 2, maxRequests: undefined },
  routes: [
    {
      name: "<b>r</b>",
      method: "GET",
      path: "/",
      upstream: "u",
      closed: summary,
      open: { rate: 500, gateway: summary, direct: summary },
      overhead: { p50: 0.1, p90: 0.1, p99: 0.2, p999: 0.3 },
      percentiles: [0.5, 0.99, 1].map((q) => ({ q, gateway: q * 2, direct: q })),
      histogram: [],
      ramp: [
        { rate: 500, rps: 500, p50: 0.4, p99: 1, failed: 0, unsent: 0 },
        { rate: 1000, rps: 990, p50: 0.9, p99: 9, failed: 0, unsent: 3 },
      ],
      knee: { rate: 1000, limit_ms: 5, basis: "budget" },
      budget: { p99: 5 },
      warnings: [],
      checks: [{ route: "<b>r</b>", key: "p99", limit: 5, actual: 1.2, unit: "ms", pass: true }],
    },
  ],
  faults: [],
  checks: [{ route: "<b>r</b>", key: "p99", limit: 5, actual: 1.2, unit: "ms", pass: true }],
  pass: true,
};

test("escaped, self-contained, plots carry their data points", () => {
  const html = renderHtml(report);
  expect(html).not.toContain("<script>alert");
  expect(html).not.toContain("<b>r</b>");
  expect(html).toContain("&#60;b&#62;r&#60;/b&#62;");
  expect(html).not.toMatch(/<link|src="http|href="http|@import|url\(/);
  const plots = [...html.matchAll(/<svg class="plot"[^>]*data-points="(\d+)"/g)].map((m) => Number(m[1]));
  expect(plots).toEqual([4, 6]); // latency vs load (2 series x 2 steps), percentiles (2 series x 3)
  expect(html).toContain("PASS: every budget met");
  expect(html).toContain("No fault scenarios in this run");
});
