/**
 * bench-report.html: one self-contained file (no scripts, fonts or styles
 * from elsewhere), plots as inline SVG drawn here: per route the latency-vs-
 * load curve (the ramp) and the percentile plot (gateway and direct), the
 * per-route table with budgets, and per fault scenario a timeline (p99 and
 * failures per 100 ms, the fault's window shaded, events marked).
 *
 * A small inline script counts, after layout, the plots whose data marks
 * have a non-empty rendered box and writes it to <body data-plots-rendered>:
 * what the headless-browser test reads.
 */
import type { BenchReport } from "./report.ts";
import type { FaultResult } from "./faults.ts";
import type { RouteResult } from "./measure.ts";

interface Series {
  name: string;
  color: string;
  points: [number, number][];
}

interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Category labels for x = 0..n-1 instead of numeric ticks. */
  xCategories?: string[];
  hline?: { y: number; label: string };
  band?: [number, number];
  marks?: { x: number; label: string }[];
  bars?: { x: number; width: number; value: number; color: string }[];
}

const W = 560;
const H = 260;
const PAD = { l: 58, r: 16, t: 28, b: 40 };

export function renderHtml(r: BenchReport): string {
  const routes = r.routes.map(routeSection).join("\n");
  const faults = r.faults.length === 0 ? "<p>No fault scenarios in this run (<code>--faults</code>).</p>" : r.faults.map(faultSection).join("\n");
  const verdict = r.checks.length === 0 ? "no budgets configured" : r.pass ? "PASS: every budget met" : `FAIL: ${r.checks.filter((c) => !c.pass).length} of ${r.checks.length} budgets missed`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gateway bench report</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}.pass{color:#11772d;font-weight:600}.fail{color:#b00020;font-weight:600}
svg{background:#fcfcfc;border:1px solid #ddd;margin:4px 8px 4px 0}.plots{display:flex;flex-wrap:wrap}
code{background:#f3f3f3;padding:0 3px}
</style></head>
<body data-plots-rendered="0">
<h1>gateway bench report</h1>
<p><b class="${r.pass ? "pass" : "fail"}">${esc(verdict)}</b></p>
<p>${esc(r.date)} · gateway ${esc(r.version)} (${esc(r.commit)}) · <code>${esc(r.command)}</code><br>
config ${esc(r.config)} · load to ${esc(r.gateway)}${r.stub ? ` · stub upstreams ${r.stub.latency_ms} ms, ${r.stub.body_bytes} B` : ""}<br>
phases of ${r.load.duration} ms, ${r.load.connections} connections, warm-up ${r.load.warmup} ms, ramp ${r.load.rampSteps} steps</p>
<h2>Routes</h2>
${routeTable(r)}
${budgetTable(r)}
${routes}
<h2>Faults</h2>
${faultTable(r.faults)}
${faults}
<script>
addEventListener("load", function () {
  var n = 0;
  document.querySelectorAll("svg.plot").forEach(function (svg) {
    var marks = svg.querySelectorAll(".data");
    var drawn = 0;
    marks.forEach(function (m) { var b = m.getBBox(); if (b.width > 0 || b.height > 0) drawn++; });
    svg.setAttribute("data-marks-drawn", String(drawn));
    if (drawn > 0) n++;
  });
  document.body.setAttribute("data-plots-rendered", String(n));
});
</script>
</body></html>
`;
}

function routeTable(r: BenchReport): string {
  const rows = r.routes.map((x) => {
    const g = x.open.gateway.latency;
    const o = x.overhead;
    const ok = x.checks.every((c) => c.pass);
    return `<tr><td>${esc(x.name)}</td><td>${esc(x.method)} ${esc(x.path)}</td><td>${Math.round(x.closed.rps)}</td><td>${x.open.rate}</td><td>${f(g.p50)}</td><td>${f(g.p90)}</td><td>${f(g.p99)}</td><td>${f(g.p999)}</td><td>${f(g.max)}</td><td>${o ? f(o.p50) : "-"}</td><td>${o ? f(o.p99) : "-"}</td><td>${x.knee?.rate ?? "-"}</td><td>${x.open.gateway.failed + x.closed.failed}</td><td class="${ok ? "pass" : "fail"}">${x.checks.length === 0 ? "-" : ok ? "pass" : "fail"}</td></tr>`;
  });
  return `<table><tr><th>route</th><th>request</th><th>max req/s</th><th>rate</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th><th>overhead p50</th><th>overhead p99</th><th>knee req/s</th><th>failed</th><th>budget</th></tr>${rows.join("")}</table>`;
}

function budgetTable(r: BenchReport): string {
  if (r.checks.length === 0) return "";
  const rows = r.checks.map(
    (c) =>
      `<tr><td>${esc(c.route)}</td><td>${esc(c.key)}</td><td>${c.key === "min_rps" ? "&ge;" : "&le;"} ${c.limit} ${c.unit}</td><td>${c.actual === null ? "not measured" : `${c.unit === "requests" ? String(c.actual) : f(c.actual)} ${c.unit}`}</td><td class="${c.pass ? "pass" : "fail"}">${c.pass ? "pass" : "FAIL"}</td><td>${esc(c.note ?? "")}</td></tr>`,
  );
  return `<h3>Budgets</h3><table><tr><th>route</th><th>budget</th><th>limit</th><th>measured</th><th>result</th><th>note</th></tr>${rows.join("")}</table>`;
}

function routeSection(x: RouteResult): string {
  const curve: Series[] = [
    { name: "p99", color: "#b00020", points: x.ramp.map((s) => [s.rate, s.p99]) },
    { name: "p50", color: "#1f5fbf", points: x.ramp.map((s) => [s.rate, s.p50]) },
  ];
  if (x.ramp.length === 0) {
    const g = x.open.gateway.latency;
    curve[0]!.points = [[x.open.rate, g.p99]];
    curve[1]!.points = [[x.open.rate, g.p50]];
  }
  const load = chart({
    title: `${x.name}: latency vs offered load`,
    xLabel: "offered rate (req/s)",
    yLabel: "ms",
    series: curve,
    ...(x.knee ? { hline: { y: x.knee.limit_ms, label: `p99 limit (${x.knee.basis})` } } : {}),
    ...(x.knee?.rate ? { marks: [{ x: x.knee.rate, label: "knee" }] } : {}),
  });
  const pct: Series[] = [{ name: "gateway", color: "#b00020", points: x.percentiles.map((p, i) => [i, p.gateway]) }];
  if (x.percentiles.some((p) => p.direct !== null)) pct.push({ name: "direct", color: "#11772d", points: x.percentiles.map((p, i) => [i, p.direct ?? 0]) });
  const percentiles = chart({
    title: `${x.name}: latency by percentile at ${x.open.rate} req/s`,
    xLabel: "percentile",
    yLabel: "ms",
    series: pct,
    xCategories: x.percentiles.map((p) => String(+(p.q * 100).toFixed(2))),
  });
  const warn = x.warnings.map((w) => `<p class="fail">warning: ${esc(w)}</p>`).join("");
  return `<h3>Route ${esc(x.name)}</h3>${warn}<div class="plots">${load}${percentiles}</div>`;
}

function faultTable(list: FaultResult[]): string {
  if (list.length === 0) return "";
  const rows = list.map((x) =>
    x.skipped !== null
      ? `<tr><td>${esc(x.name)}</td><td>${esc(x.route)}</td><td colspan="7" style="text-align:left">skipped: ${esc(x.skipped)}</td></tr>`
      : `<tr><td>${esc(x.name)}</td><td>${esc(x.route)}</td><td>${x.requests}</td><td class="${x.failed === 0 ? "pass" : "fail"}">${x.failed}</td><td>${f(x.before.p99)}</td><td>${f(x.during.p99)}</td><td>${f(x.after.p99)}</td><td>${f(x.during.max)}</td><td>${x.recover_ms ?? "not recovered"}</td></tr>`,
  );
  return `<table><tr><th>fault</th><th>route</th><th>requests</th><th>failed</th><th>p99 before</th><th>p99 during</th><th>p99 after</th><th>max during</th><th>recovery ms</th></tr>${rows.join("")}</table>`;
}

function faultSection(x: FaultResult): string {
  if (x.skipped !== null) return "";
  const maxP99 = Math.max(1e-3, ...x.timeline.map((w) => w.p99));
  const maxFailed = Math.max(1, ...x.timeline.map((w) => w.failed));
  return chart({
    title: `fault ${x.name}: p99 per 100 ms (failures in red)`,
    xLabel: "time (ms)",
    yLabel: "ms",
    series: [{ name: "p99", color: "#1f5fbf", points: x.timeline.map((w) => [w.t + 50, w.p99]) }],
    band: x.fault_window,
    marks: x.events.map((e) => ({ x: e.t, label: e.what })),
    bars: x.timeline.filter((w) => w.failed > 0).map((w) => ({ x: w.t, width: 100, value: (w.failed / maxFailed) * maxP99, color: "#e0404080" })),
  });
}

function chart(c: Chart): string {
  const xs = c.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = c.series.flatMap((s) => s.points.map((p) => p[1]));
  if (c.hline) ys.push(c.hline.y);
  for (const b of c.bars ?? []) xs.push(b.x, b.x + b.width);
  if (c.band) xs.push(...c.band);
  const xMin = c.xCategories ? 0 : Math.min(0, ...xs);
  const xMax = c.xCategories ? Math.max(1, c.xCategories.length - 1) : Math.max(xMin + 1, ...xs);
  const yMax = niceMax(Math.max(1e-3, ...ys) * 1.1);
  const px = (x: number) => PAD.l + ((x - xMin) / (xMax - xMin || 1)) * (W - PAD.l - PAD.r);
  const py = (y: number) => H - PAD.b - (y / yMax) * (H - PAD.t - PAD.b);
  const parts: string[] = [];
  parts.push(`<text x="${W / 2}" y="16" text-anchor="middle" font-size="13" font-weight="600">${esc(c.title)}</text>`);
  if (c.band) parts.push(`<rect x="${px(c.band[0]).toFixed(1)}" y="${PAD.t}" width="${Math.max(1, px(c.band[1]) - px(c.band[0])).toFixed(1)}" height="${H - PAD.t - PAD.b}" fill="#f5d76e55"/>`);
  // Axes and ticks.
  parts.push(`<line x1="${PAD.l}" y1="${H - PAD.b}" x2="${W - PAD.r}" y2="${H - PAD.b}" stroke="#555"/><line x1="${PAD.l}" y1="${PAD.t}" x2="${PAD.l}" y2="${H - PAD.b}" stroke="#555"/>`);
  for (let i = 0; i <= 4; i++) {
    const y = (yMax * i) / 4;
    parts.push(`<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${py(y).toFixed(1)}" y2="${py(y).toFixed(1)}" stroke="#eee"/><text x="${PAD.l - 4}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end" font-size="10">${fmtTick(y)}</text>`);
  }
  if (c.xCategories) {
    c.xCategories.forEach((label, i) => parts.push(`<text x="${px(i).toFixed(1)}" y="${H - PAD.b + 14}" text-anchor="middle" font-size="10">${esc(label)}</text>`));
  } else {
    for (let i = 0; i <= 4; i++) {
      const x = xMin + ((xMax - xMin) * i) / 4;
      parts.push(`<text x="${px(x).toFixed(1)}" y="${H - PAD.b + 14}" text-anchor="middle" font-size="10">${fmtTick(x)}</text>`);
    }
  }
  parts.push(`<text x="${W / 2}" y="${H - 6}" text-anchor="middle" font-size="11">${esc(c.xLabel)}</text>`);
  parts.push(`<text x="12" y="${H / 2}" text-anchor="middle" font-size="11" transform="rotate(-90 12 ${H / 2})">${esc(c.yLabel)}</text>`);
  for (const b of c.bars ?? []) {
    parts.push(`<rect class="data bar" x="${px(b.x).toFixed(1)}" y="${py(b.value).toFixed(1)}" width="${Math.max(1, px(b.x + b.width) - px(b.x)).toFixed(1)}" height="${Math.max(1, H - PAD.b - py(b.value)).toFixed(1)}" fill="${b.color}"/>`);
  }
  if (c.hline) {
    parts.push(`<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${py(c.hline.y).toFixed(1)}" y2="${py(c.hline.y).toFixed(1)}" stroke="#b00020" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${W - PAD.r - 2}" y="${(py(c.hline.y) - 3).toFixed(1)}" text-anchor="end" font-size="10" fill="#b00020">${esc(c.hline.label)}</text>`);
  }
  for (const m of c.marks ?? []) {
    parts.push(`<line x1="${px(m.x).toFixed(1)}" x2="${px(m.x).toFixed(1)}" y1="${PAD.t}" y2="${H - PAD.b}" stroke="#888" stroke-dasharray="2 2"><title>${esc(m.label)}</title></line>`);
  }
  c.series.forEach((s, k) => {
    const pts = s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`);
    if (pts.length > 1) parts.push(`<polyline class="data" data-series="${esc(s.name)}" fill="none" stroke="${s.color}" stroke-width="2" points="${pts.join(" ")}"/>`);
    for (const [x, y] of s.points) parts.push(`<circle class="data" cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${s.color}"><title>${esc(s.name)}: ${fmtTick(y)} ms at ${fmtTick(x)}</title></circle>`);
    parts.push(`<text x="${W - PAD.r - 4}" y="${PAD.t + 12 + k * 13}" text-anchor="end" font-size="11" fill="${s.color}">${esc(s.name)}</text>`);
  });
  const n = c.series.reduce((a, s) => a + s.points.length, 0);
  return `<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" data-points="${n}">${parts.join("")}</svg>`;
}

function niceMax(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function fmtTick(v: number): string {
  if (v === 0) return "0";
  if (Math.abs(v) >= 100) return String(Math.round(v));
  if (Math.abs(v) >= 1) return v.toFixed(1);
  return v.toPrecision(2);
}

function f(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3);
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
