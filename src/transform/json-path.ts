/**
 * Dotted paths into JSON values, compiled at config load: `customer.id`,
 * `items[*].sku` (every element of a list), `items[0].sku` (one element).
 * A path whose first step is a name, applied to a JSON list, applies to each
 * element (a response that is a list of objects is edited object by object).
 *
 * Names are any text without ".", "[" or "]"; "__proto__", "constructor" and
 * "prototype" are refused, so an edit can never reach an object's prototype.
 */

export type Step = { readonly key: string } | { readonly each: true } | { readonly index: number };
export type JsonPath = readonly Step[];

const FORBIDDEN: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/** Parse `text`; returns the steps or a message saying what is wrong. */
export function parseJsonPath(text: string): JsonPath | string {
  if (text === "") return "expected a field path such as \"customer.id\" or \"items[*].sku\"";
  const steps: Step[] = [];
  let i = 0;
  let expectName = true;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "[") {
      const end = text.indexOf("]", i);
      if (end < 0) return `unclosed "[" in ${JSON.stringify(text)}`;
      const inner = text.slice(i + 1, end);
      if (inner === "*") steps.push({ each: true });
      else if (/^\d+$/.test(inner)) steps.push({ index: Number(inner) });
      else return `expected [*] or [N] in ${JSON.stringify(text)}, found [${inner}]`;
      i = end + 1;
      expectName = false;
      continue;
    }
    if (c === ".") {
      if (expectName) return `empty field name in ${JSON.stringify(text)}`;
      i++;
      expectName = true;
      if (i === text.length) return `empty field name in ${JSON.stringify(text)}`;
      continue;
    }
    if (c === "]") return `unmatched "]" in ${JSON.stringify(text)}`;
    if (!expectName) return `expected "." or "[" after "]" in ${JSON.stringify(text)}`;
    let end = i;
    while (end < text.length && text[end] !== "." && text[end] !== "[" && text[end] !== "]") end++;
    const name = text.slice(i, end);
    if (FORBIDDEN.has(name)) return `the field name ${JSON.stringify(name)} is not allowed`;
    steps.push({ key: name });
    i = end;
    expectName = false;
  }
  return steps;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Call `fn(container, key)` for every place `path` ends at under `root`:
 * the container (object or list) holding the last step, and that step's key
 * or index. With `create`, missing objects on the way are made (never lists).
 */
export function visit(
  root: unknown,
  path: JsonPath,
  create: boolean,
  fn: (container: Record<string, unknown> | unknown[], key: string | number) => void,
): void {
  if (Array.isArray(root) && path.length > 0 && "key" in path[0]!) {
    for (const el of root) walk(el, path, 0, create, fn);
    return;
  }
  walk(root, path, 0, create, fn);
}

function walk(
  node: unknown,
  path: JsonPath,
  at: number,
  create: boolean,
  fn: (container: Record<string, unknown> | unknown[], key: string | number) => void,
): void {
  const step = path[at]!;
  const last = at === path.length - 1;
  if ("key" in step) {
    if (!isObject(node)) return;
    if (last) return fn(node, step.key);
    let next = Object.hasOwn(node, step.key) ? node[step.key] : undefined;
    if (next === undefined && create && "key" in path[at + 1]!) next = node[step.key] = {};
    return walk(next, path, at + 1, create, fn);
  }
  if (!Array.isArray(node)) return;
  if ("index" in step) {
    if (step.index >= node.length) return;
    if (last) return fn(node, step.index);
    return walk(node[step.index], path, at + 1, create, fn);
  }
  for (let k = 0; k < node.length; k++) {
    if (last) fn(node, k);
    else walk(node[k], path, at + 1, create, fn);
  }
}

/** The value at `path` (the first place it ends at), or undefined. */
export function getPath(root: unknown, path: JsonPath): unknown {
  let out: unknown;
  let found = false;
  visit(root, path, false, (c, k) => {
    if (found) return;
    const v = Array.isArray(c) ? c[k as number] : Object.hasOwn(c, k as string) ? c[k as string] : undefined;
    if (v !== undefined) {
      out = v;
      found = true;
    }
  });
  return out;
}

/** Delete what every path addresses; list indices all refer to the lists as they were before any removal. */
export function removePaths(root: unknown, paths: readonly JsonPath[]): void {
  const fromLists = new Map<unknown[], Set<number>>();
  for (const path of paths) {
    visit(root, path, false, (c, k) => {
      if (!Array.isArray(c)) return void delete c[k as string];
      let set = fromLists.get(c);
      if (set === undefined) fromLists.set(c, (set = new Set()));
      set.add(k as number);
    });
  }
  // Last index first, so the earlier indices stay right.
  for (const [list, indices] of fromLists) for (const i of [...indices].sort((a, b) => b - a)) list.splice(i, 1);
}

/** Move the value at `path` to the sibling field `to` (same object), where it exists. */
export function renamePath(root: unknown, path: JsonPath, to: string): void {
  visit(root, path, false, (c, k) => {
    if (Array.isArray(c) || !Object.hasOwn(c, k as string)) return;
    const v = c[k as string];
    delete c[k as string];
    c[to] = v;
  });
}

/** Put `value` at `path` (objects on the way created); with `onlyIfAbsent`, fields that exist are left alone. */
export function setPath(root: unknown, path: JsonPath, value: unknown, onlyIfAbsent: boolean): void {
  visit(root, path, true, (c, k) => {
    if (Array.isArray(c)) {
      if (!onlyIfAbsent) c[k as number] = copy(value);
      return;
    }
    if (onlyIfAbsent && Object.hasOwn(c, k as string)) return;
    c[k as string] = copy(value);
  });
}

/** Each place gets its own copy of an object value, so later edits of one do not show in another. */
function copy(v: unknown): unknown {
  return typeof v === "object" && v !== null ? structuredClone(v) : v;
}

/** A tree of the fields `allow` keeps: a leaf keeps the whole value under it. */
export interface AllowTree {
  /** Field names (and "[*]" / "[N]" for list steps) → subtree; null: keep it whole. */
  readonly children: Map<string, AllowTree | null>;
}

export function allowTree(paths: readonly JsonPath[]): AllowTree {
  const root: AllowTree = { children: new Map() };
  for (const path of paths) {
    let node = root;
    for (let i = 0; i < path.length; i++) {
      const s = path[i]!;
      const name = "key" in s ? s.key : "each" in s ? "[*]" : `[${s.index}]`;
      const last = i === path.length - 1;
      const had = node.children.get(name);
      if (had === null) break; // an ancestor keeps everything already
      if (last) {
        node.children.set(name, null);
        break;
      }
      let next = had;
      if (next === undefined) node.children.set(name, (next = { children: new Map() }));
      node = next;
    }
  }
  return root;
}

/** `value` with only the fields of `tree` kept (objects pruned in place; lists filtered by their steps). */
export function keepOnly(value: unknown, tree: AllowTree): unknown {
  if (Array.isArray(value)) {
    const each = tree.children.get("[*]");
    const hasIndexSteps = [...tree.children.keys()].some((k) => k.startsWith("[") && k !== "[*]");
    // A list at a place whose steps are names: each element is pruned as the object the names address.
    if (each === undefined && !hasIndexSteps) return value.map((el) => keepOnly(el, tree));
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      const sub = tree.children.has(`[${i}]`) ? tree.children.get(`[${i}]`) : each;
      if (sub === undefined) continue;
      out.push(sub === null ? value[i] : keepOnly(value[i], sub));
    }
    return out;
  }
  if (!isObject(value)) return value;
  for (const key of Object.keys(value)) {
    if (!tree.children.has(key)) {
      delete value[key];
      continue;
    }
    const sub = tree.children.get(key)!;
    if (sub !== null) value[key] = keepOnly(value[key], sub);
  }
  return value;
}
