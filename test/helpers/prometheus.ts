/**
 * A strict parser of the Prometheus text exposition format 0.0.4, written from
 * https://prometheus.io/docs/instrumenting/exposition_formats/ for the tests:
 * it refuses what Prometheus would (bad names, bad escapes, bad values, a TYPE
 * after its samples, a family split in two, duplicate series, histogram
 * buckets that are not cumulative or lack +Inf, _count ≠ the +Inf bucket).
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface Family {
  name: string;
  help: string | null;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseValue(s: string, line: number): number {
  if (s === "+Inf" || s === "Inf") return Infinity;
  if (s === "-Inf") return -Infinity;
  if (s === "NaN") return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) throw new Error(`line ${line}: bad value ${JSON.stringify(s)}`);
  return Number(s);
}

function familyOf(sample: string, types: Map<string, string>): string {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (sample.endsWith(suffix)) {
      const base = sample.slice(0, -suffix.length);
      const t = types.get(base);
      if (t === "histogram" || (t === "summary" && suffix !== "_bucket")) return base;
    }
  }
  return sample;
}

export function parsePrometheus(text: string): Map<string, Family> {
  if (text !== "" && !text.endsWith("\n")) throw new Error("the last line must end with a newline");
  const families = new Map<string, Family>();
  const types = new Map<string, string>();
  const seen = new Set<string>();
  const closed = new Set<string>();
  let current: string | null = null;
  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, help: null, type: (types.get(name) as Family["type"]) ?? "untyped", samples: [] }));
    return f;
  };
  const enter = (name: string, line: number) => {
    if (current !== name) {
      if (closed.has(name)) throw new Error(`line ${line}: family ${name} appears in two groups`);
      if (current !== null) closed.add(current);
      current = name;
    }
  };
  const lines = text.split("\n");
  lines.pop();
  lines.forEach((raw, i) => {
    const n = i + 1;
    if (raw.trim() === "") return;
    if (raw.startsWith("#")) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(raw);
      if (!m) return; // other comments are ignored
      const [, kind, name, rest = ""] = m as unknown as [string, string, string, string];
      if (!NAME.test(name) || NAME.exec(name)![0] !== name) throw new Error(`line ${n}: bad metric name ${name}`);
      enter(name, n);
      const f = family(name);
      if (kind === "HELP") {
        if (f.help !== null) throw new Error(`line ${n}: second HELP for ${name}`);
        f.help = rest.replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c === "\\" ? "\\" : `\\${c}`));
      } else {
        if (types.has(name)) throw new Error(`line ${n}: second TYPE for ${name}`);
        if (f.samples.length > 0) throw new Error(`line ${n}: TYPE for ${name} after its samples`);
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest.trim())) throw new Error(`line ${n}: bad type ${rest}`);
        types.set(name, rest.trim());
        f.type = rest.trim() as Family["type"];
      }
      return;
    }
    const nm = NAME.exec(raw);
    if (!nm) throw new Error(`line ${n}: expected a metric name: ${raw}`);
    const name = nm[0];
    let pos = name.length;
    const labels: Record<string, string> = {};
    if (raw[pos] === "{") {
      pos++;
      for (;;) {
        while (raw[pos] === " ") pos++;
        if (raw[pos] === "}") {
          pos++;
          break;
        }
        const lm = LABEL.exec(raw.slice(pos));
        if (!lm) throw new Error(`line ${n}: bad label name at ${pos}`);
        const lname = lm[0];
        pos += lname.length;
        if (raw[pos] !== "=" || raw[pos + 1] !== '"') throw new Error(`line ${n}: expected ="`);
        pos += 2;
        let v = "";
        for (;;) {
          const c = raw[pos++];
          if (c === undefined) throw new Error(`line ${n}: unterminated label value`);
          if (c === '"') break;
          if (c === "\\") {
            const e = raw[pos++];
            if (e === "n") v += "\n";
            else if (e === "\\" || e === '"') v += e;
            else throw new Error(`line ${n}: bad escape \\${e}`);
          } else v += c;
        }
        if (lname in labels) throw new Error(`line ${n}: label ${lname} twice`);
        labels[lname] = v;
        if (raw[pos] === ",") pos++;
        else if (raw[pos] !== "}") throw new Error(`line ${n}: expected , or }`);
      }
    }
    const rest = raw.slice(pos).trim().split(/\s+/);
    if (raw[pos] !== " " && raw[pos] !== "\t") throw new Error(`line ${n}: expected a space before the value`);
    if (rest.length < 1 || rest.length > 2) throw new Error(`line ${n}: expected value [timestamp]`);
    const value = parseValue(rest[0]!, n);
    if (rest.length === 2 && !/^-?\d+$/.test(rest[1]!)) throw new Error(`line ${n}: bad timestamp`);
    const fname = familyOf(name, types);
    enter(fname, n);
    const id = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(id)) throw new Error(`line ${n}: duplicate series ${id}`);
    seen.add(id);
    family(fname).samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === "histogram") checkHistogram(f);
  return families;
}

function checkHistogram(f: Family): void {
  const groups = new Map<string, { buckets: [number, number][]; count?: number; sum?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const g = groups.get(key) ?? { buckets: [] };
    groups.set(key, g);
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${f.name}: bucket without le`);
      g.buckets.push([parseValue(le, 0), s.value]);
    } else if (s.name === `${f.name}_count`) g.count = s.value;
    else if (s.name === `${f.name}_sum`) g.sum = s.value;
  }
  for (const [key, g] of groups) {
    const sorted = [...g.buckets].sort((a, b) => a[0] - b[0]);
    if (sorted.at(-1)?.[0] !== Infinity) throw new Error(`${f.name}${key}: no le="+Inf" bucket`);
    for (let i = 1; i < sorted.length; i++) if (sorted[i]![1] < sorted[i - 1]![1]) throw new Error(`${f.name}${key}: buckets not cumulative`);
    if (g.count !== sorted.at(-1)![1]) throw new Error(`${f.name}${key}: _count ${g.count} is not the +Inf bucket ${sorted.at(-1)![1]}`);
    if (g.sum === undefined) throw new Error(`${f.name}${key}: no _sum`);
  }
}

/** The value of one sample whose labels include `labels`, summed over the matches. */
export function valueOf(fams: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const f of fams.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) total += s.value;
    }
  }
  return total;
}
