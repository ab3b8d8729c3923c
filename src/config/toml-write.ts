/**
 * A TOML document from plain data (what Bun.TOML.parse returns), for the
 * tools that rewrite a user's config (`gateway bench` points its listeners
 * and targets elsewhere). Tables become [sections], arrays of tables
 * [[sections]], everything deeper inline; strings are basic strings with
 * TOML's escapes (TOML 1.0 §String), so `${ENV}` references survive as text.
 */

type Value = unknown;

export function toToml(doc: Record<string, Value>): string {
  const out: string[] = [];
  emitTable(out, [], doc);
  return `${out.join("\n").trim()}\n`;
}

function emitTable(out: string[], path: string[], table: Record<string, Value>): void {
  const simple: string[] = [];
  const tables: [string, Record<string, Value>][] = [];
  const arrays: [string, Record<string, Value>[]][] = [];
  for (const [k, v] of Object.entries(table)) {
    if (v === undefined || v === null) continue;
    if (isTable(v)) tables.push([k, v]);
    else if (Array.isArray(v) && v.length > 0 && v.every(isTable)) arrays.push([k, v as Record<string, Value>[]]);
    else simple.push(`${key(k)} = ${inline(v)}`);
  }
  if (path.length > 0 && (simple.length > 0 || (tables.length === 0 && arrays.length === 0))) out.push("", `[${path.map(key).join(".")}]`);
  out.push(...simple);
  for (const [k, v] of tables) emitTable(out, [...path, k], v);
  for (const [k, list] of arrays) {
    for (const item of list) {
      out.push("", `[[${[...path, k].map(key).join(".")}]]`);
      const sub: string[] = [];
      const nested: [string, Value][] = [];
      for (const [ik, iv] of Object.entries(item)) {
        if (iv === undefined || iv === null) continue;
        if (Array.isArray(iv) && iv.length > 0 && iv.every(isTable)) nested.push([ik, iv]);
        else sub.push(`${key(ik)} = ${inline(iv)}`);
      }
      out.push(...sub);
      // [[routes.aggregate]] under the [[routes]] entry it belongs to.
      for (const [ik, iv] of nested) {
        for (const n of iv as Record<string, Value>[]) {
          out.push("", `[[${[...path, k, ik].map(key).join(".")}]]`);
          for (const [nk, nv] of Object.entries(n)) if (nv !== undefined && nv !== null) out.push(`${key(nk)} = ${inline(nv)}`);
        }
      }
    }
  }
}

function isTable(v: Value): v is Record<string, Value> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function key(k: string): string {
  return /^[A-Za-z0-9_-]+$/.test(k) ? k : str(k);
}

function str(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || c === 0x7f) out += `\\u${c.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

function inline(v: Value): string {
  if (typeof v === "string") return str(v);
  if (typeof v === "number") {
    if (Number.isNaN(v)) return "nan";
    if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
    return String(v);
  }
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "boolean") return v ? "true" : "false";
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return `[${v.map(inline).join(", ")}]`;
  if (isTable(v)) {
    const parts = Object.entries(v)
      .filter(([, x]) => x !== undefined && x !== null)
      .map(([k, x]) => `${key(k)} = ${inline(x)}`);
    return `{ ${parts.join(", ")} }`;
  }
  throw new Error(`cannot write ${typeof v} as TOML`);
}
