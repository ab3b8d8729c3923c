/**
 * Header and query edits, compiled once: remove → rename → set → add (Kong's
 * request-transformer order). `set` replaces every field of that name, `add`
 * appends one more, `rename` moves the value to a new name (replacing that
 * name's), `remove` deletes. Values are templates (template.ts), encoded for
 * where they go: header values lose control characters, query values are
 * percent-encoded.
 */
import { compileTemplate, literalProblem, render, type CompileOptions, type Template, type TemplateEncoding, type TemplateSource } from "./template.ts";
import type { EditProblem } from "./json-edits.ts";

export interface RawFieldEdits {
  set?: Readonly<Record<string, string>>;
  add?: Readonly<Record<string, string>>;
  remove?: readonly string[];
  rename?: Readonly<Record<string, string>>;
}

export interface FieldEdits {
  readonly remove: readonly string[];
  readonly rename: readonly (readonly [string, string])[];
  readonly set: readonly (readonly [string, Template])[];
  readonly add: readonly (readonly [string, Template])[];
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** `kind` "header": names are tokens (RFC 9110 §5.1), lower-cased; "query": any non-empty name. */
export function compileFieldEdits(raw: RawFieldEdits, kind: "header" | "query", opts: CompileOptions, problems: EditProblem[]): FieldEdits {
  const encoding: TemplateEncoding = kind === "header" ? "header" : "query";
  const name = (n: string, at: (string | number)[]): string | null => {
    if (kind === "header" ? !TOKEN.test(n) : n === "") {
      problems.push({ path: at, message: kind === "header" ? `invalid header name ${JSON.stringify(n)}` : "expected a non-empty parameter name" });
      return null;
    }
    return kind === "header" ? n.toLowerCase() : n;
  };
  const values = (table: Readonly<Record<string, string>> | undefined, key: string): [string, Template][] => {
    const out: [string, Template][] = [];
    for (const [n, v] of Object.entries(table ?? {})) {
      if (typeof v !== "string") continue;
      const fieldName = name(n, [key, n]);
      const t = compileTemplate(v, encoding, opts);
      const bad = typeof t === "string" ? t : kind === "header" ? literalProblem(t, "header") : null;
      if (bad !== null) problems.push({ path: [key, n], message: bad });
      // A query value is one component: its literal text is encoded like the values in it.
      else if (fieldName !== null && typeof t !== "string") out.push([fieldName, kind === "query" ? { ...t, literals: t.literals.map(encodeURIComponent) } : t]);
    }
    return out;
  };
  const remove = (raw.remove ?? []).map((n, i) => (typeof n === "string" ? name(n, ["remove", i]) : null)).filter((n) => n !== null);
  const rename: [string, string][] = [];
  for (const [from, to] of Object.entries(raw.rename ?? {})) {
    if (typeof to !== "string") continue;
    const a = name(from, ["rename", from]);
    const b = name(to, ["rename", from]);
    if (a !== null && b !== null) rename.push([a, b]);
  }
  return { remove, rename, set: values(raw.set, "set"), add: values(raw.add, "add") };
}

export function isEmptyFieldEdits(e: FieldEdits): boolean {
  return e.remove.length === 0 && e.rename.length === 0 && e.set.length === 0 && e.add.length === 0;
}

/** What header edits act on: an upstream draft, or a response's Headers. */
export interface HeaderTarget {
  get(name: string): string | null;
  set(name: string, value: string): void;
  append(name: string, value: string): void;
  delete(name: string): void;
}

export function applyHeaderEdits(target: HeaderTarget, e: FieldEdits, src: TemplateSource): void {
  for (const n of e.remove) target.delete(n);
  for (const [from, to] of e.rename) {
    const v = target.get(from);
    if (v === null) continue;
    target.delete(from);
    target.set(to, v);
  }
  for (const [n, t] of e.set) target.set(n, render(t, src));
  for (const [n, t] of e.add) target.append(n, render(t, src));
}

/** One raw "name=value" pair of a query (value null for a bare "name"), with its decoded name. */
interface Pair {
  raw: string;
  name: string;
}

/** `query` ("?a=1&b" or "") with the edits applied; pairs not named by an edit keep their exact bytes. */
export function applyQueryEdits(query: string, e: FieldEdits, src: TemplateSource): string {
  const pairs: Pair[] = [];
  if (query.length > 1) {
    for (const raw of query.slice(1).split("&")) {
      if (raw === "") continue;
      const eq = raw.indexOf("=");
      pairs.push({ raw, name: decodeComponent(eq < 0 ? raw : raw.slice(0, eq)) });
    }
  }
  let list = pairs;
  if (e.remove.length > 0) list = list.filter((p) => !e.remove.includes(p.name));
  for (const [from, to] of e.rename) {
    if (!list.some((p) => p.name === from)) continue;
    list = list.filter((p) => p.name !== to);
    for (const p of list) {
      if (p.name !== from) continue;
      const eq = p.raw.indexOf("=");
      p.raw = encodeURIComponent(to) + (eq < 0 ? "" : p.raw.slice(eq));
      p.name = to;
    }
  }
  for (const [n, t] of e.set) {
    list = list.filter((p) => p.name !== n);
    list.push({ raw: `${encodeURIComponent(n)}=${render(t, src)}`, name: n });
  }
  for (const [n, t] of e.add) list.push({ raw: `${encodeURIComponent(n)}=${render(t, src)}`, name: n });
  return list.length === 0 ? "" : `?${list.map((p) => p.raw).join("&")}`;
}

/** A query component decoded as a form would be ("+" is a space); a malformed escape keeps its raw text. */
export function decodeComponent(s: string): string {
  const plus = s.includes("+") ? s.replaceAll("+", " ") : s;
  if (!plus.includes("%")) return plus;
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus;
  }
}

/** The first value of `name` in a raw query ("?a=1&b=2"), decoded; null when absent. */
export function queryValue(query: string, name: string): string | null {
  if (query.length <= 1) return null;
  for (const raw of query.slice(1).split("&")) {
    const eq = raw.indexOf("=");
    if (decodeComponent(eq < 0 ? raw : raw.slice(0, eq)) === name) return eq < 0 ? "" : decodeComponent(raw.slice(eq + 1));
  }
  return null;
}
