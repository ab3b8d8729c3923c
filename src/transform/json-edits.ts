/**
 * A compiled set of JSON body edits, applied in one fixed order (Kong's
 * request-transformer order, extended): allow → remove → rename → set → add.
 *
 *   allow   keep only these fields (names as the upstream wrote them), drop the rest
 *   remove  delete these fields
 *   rename  move a field to a new name in the same object ({ userId = "id" })
 *   set     put a value, replacing what is there (objects on the way created)
 *   add     put a value only where the field is absent
 *
 * A string value of set/add may be a template ({claim.sub}); other TOML
 * values (numbers, booleans, lists, tables) are put as they are.
 */
import { allowTree, keepOnly, parseJsonPath, removePaths, renamePath, setPath, type AllowTree, type JsonPath } from "./json-path.ts";
import { compileTemplate, render, type CompileOptions, type Template, type TemplateSource } from "./template.ts";

export interface RawJsonEdits {
  allow?: readonly string[];
  remove?: readonly string[];
  rename?: Readonly<Record<string, string>>;
  set?: Readonly<Record<string, unknown>>;
  add?: Readonly<Record<string, unknown>>;
}

interface Put {
  readonly path: JsonPath;
  /** A literal value, or a template rendered per request. */
  readonly value: unknown;
  readonly template: Template | null;
}

export interface JsonEdits {
  readonly allow: AllowTree | null;
  readonly remove: readonly JsonPath[];
  readonly rename: readonly (readonly [JsonPath, string])[];
  readonly set: readonly Put[];
  readonly add: readonly Put[];
  /** Some value is a template: applying needs a TemplateSource. */
  readonly templated: boolean;
}

/** A problem of one key, relative to the edits table: ["rename", "userId"]. */
export interface EditProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

export function compileJsonEdits(raw: RawJsonEdits, opts: CompileOptions, problems: EditProblem[]): JsonEdits {
  const parse = (text: string, at: (string | number)[]): JsonPath | null => {
    const p = parseJsonPath(text);
    if (typeof p === "string") {
      problems.push({ path: at, message: p });
      return null;
    }
    return p;
  };
  const allowPaths = (raw.allow ?? []).map((t, i) => (typeof t === "string" ? parse(t, ["allow", i]) : null)).filter((p) => p !== null);
  const remove = (raw.remove ?? []).map((t, i) => (typeof t === "string" ? parse(t, ["remove", i]) : null)).filter((p) => p !== null);
  const rename: [JsonPath, string][] = [];
  for (const [from, to] of Object.entries(raw.rename ?? {})) {
    if (typeof to !== "string") continue;
    const p = parse(from, ["rename", from]);
    const target = parseJsonPath(to);
    if (typeof target === "string" || target.length !== 1 || !("key" in target[0]!)) {
      problems.push({ path: ["rename", from], message: `expected a field name (the new name in the same object), found ${JSON.stringify(to)}` });
      continue;
    }
    if (p !== null) {
      if (!("key" in p[p.length - 1]!)) problems.push({ path: ["rename", from], message: "only a named field can be renamed" });
      else rename.push([p, to]);
    }
  }
  let templated = false;
  const puts = (table: Readonly<Record<string, unknown>> | undefined, key: "set" | "add"): Put[] => {
    const out: Put[] = [];
    for (const [field, value] of Object.entries(table ?? {})) {
      const p = parse(field, [key, field]);
      if (p === null) continue;
      let template: Template | null = null;
      if (typeof value === "string" && value.includes("{")) {
        const t = compileTemplate(value, "text", opts);
        if (typeof t === "string") {
          problems.push({ path: [key, field], message: t });
          continue;
        }
        if (t.vars.length > 0) {
          template = t;
          templated = true;
        }
      }
      out.push({ path: p, value: template === null && typeof value === "string" ? unbrace(value) : value, template });
    }
    return out;
  };
  const set = puts(raw.set, "set");
  const add = puts(raw.add, "add");
  return { allow: raw.allow === undefined ? null : allowTree(allowPaths), remove, rename, set, add, templated };
}

/** "{{" and "}}" are literal braces in every string value, templated or not. */
function unbrace(value: string): string {
  return value.includes("{{") || value.includes("}}") ? value.replaceAll("{{", "{").replaceAll("}}", "}") : value;
}

export function isEmptyEdits(e: JsonEdits): boolean {
  return e.allow === null && e.remove.length === 0 && e.rename.length === 0 && e.set.length === 0 && e.add.length === 0;
}

/** Apply `edits` to `root` (edited in place where it can be) and return the result. Throws MissingValue from a template. */
export function applyJsonEdits(root: unknown, edits: JsonEdits, src: TemplateSource | null): unknown {
  if (edits.allow !== null) root = keepOnly(root, edits.allow);
  if (edits.remove.length > 0) removePaths(root, edits.remove);
  for (const [p, to] of edits.rename) renamePath(root, p, to);
  for (const put of edits.set) setPath(root, put.path, valueOf(put, src), false);
  for (const put of edits.add) setPath(root, put.path, valueOf(put, src), true);
  return root;
}

function valueOf(put: Put, src: TemplateSource | null): unknown {
  return put.template === null || src === null ? put.value : render(put.template, src);
}
