/**
 * The Prometheus text exposition format, version 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/): one
 * `# HELP` and `# TYPE` per family, then its samples; histograms as
 * cumulative `_bucket{le=…}` samples ending with `le="+Inf"`, `_sum`, `_count`.
 */
import { readGauge, splitSeriesKey, type FamilyDescriptor, type SharedMetrics } from "./registry.ts";

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** HELP text escapes backslash and newline; label values also the double quote. */
function escapeHelp(s: string): string {
  return s.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}
function escapeLabel(s: string): string {
  return s.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}

/** Go's strconv-style floats as Prometheus writes them: +Inf, -Inf, NaN. */
export function formatValue(v: number): string {
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (Number.isNaN(v)) return "NaN";
  return String(v);
}

function labelSet(names: readonly string[], values: readonly string[], extra?: string): string {
  if (names.length === 0 && extra === undefined) return "";
  const parts: string[] = [];
  for (let i = 0; i < names.length; i++) parts.push(`${names[i]}="${escapeLabel(values[i] ?? "")}"`);
  if (extra !== undefined) parts.push(extra);
  return `{${parts.join(",")}}`;
}

/** Every family in the buffer, as one text document. */
export function exposition(m: SharedMetrics): string {
  const families = new Map<string, FamilyDescriptor>();
  const series = new Map<string, { values: string[]; cell: number }[]>();
  for (const e of m.entries()) {
    if (e.key.charCodeAt(0) === 0) {
      families.set(e.key.slice(1), JSON.parse(e.payload) as FamilyDescriptor);
      continue;
    }
    const { name, values } = splitSeriesKey(e.key);
    let list = series.get(name);
    if (list === undefined) series.set(name, (list = []));
    list.push({ values, cell: e.cell });
  }
  let out = "";
  for (const name of [...families.keys()].sort()) {
    const d = families.get(name)!;
    out += `# HELP ${name} ${escapeHelp(d.help)}\n# TYPE ${name} ${d.type}\n`;
    const list = (series.get(name) ?? []).sort((a, b) => (a.values.join("\u0000") < b.values.join("\u0000") ? -1 : 1));
    for (const s of list) {
      if (d.type === "counter") out += `${name}${labelSet(d.labels, s.values)} ${m.read(s.cell)}\n`;
      else if (d.type === "gauge") out += `${name}${labelSet(d.labels, s.values)} ${formatValue(readGauge(m, s.cell))}\n`;
      else {
        let cum = 0;
        const n = d.buckets.length;
        for (let b = 0; b < n; b++) {
          cum += m.read(s.cell + b);
          out += `${name}_bucket${labelSet(d.labels, s.values, `le="${formatValue(d.buckets[b]!)}"`)} ${cum}\n`;
        }
        cum += m.read(s.cell + n);
        out += `${name}_bucket${labelSet(d.labels, s.values, 'le="+Inf"')} ${cum}\n`;
        out += `${name}_sum${labelSet(d.labels, s.values)} ${m.read(s.cell + n + 1) / 1e6}\n`;
        out += `${name}_count${labelSet(d.labels, s.values)} ${cum}\n`;
      }
    }
  }
  out += `# HELP gateway_metrics_series_dropped_total Label sets not stored because the series table was full\n`;
  out += `# TYPE gateway_metrics_series_dropped_total counter\ngateway_metrics_series_dropped_total ${m.dropped}\n`;
  return out;
}
