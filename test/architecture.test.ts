/**
 * The planes in the tree (DESIGN.md "Where things live"), checked on the
 * import graph of src/, type-only imports included:
 *  - engines (router, limits, upstream, auth, cache, store, metrics, and the
 *    upstream client and util) import no pipeline: not policies/, data/ or control/;
 *  - policies/ import no plane: not data/ or control/;
 *  - data/ (the workers) imports nothing of control/ (the main thread);
 *  - there is no import cycle anywhere.
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../src");
const ENGINES = ["router", "limits", "upstream", "auth", "cache", "store", "idempotency", "metrics", "client", "util", "edge", "transform"];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** src-relative path → src-relative paths it imports (static, dynamic, type-only, re-exports). */
const graph = new Map<string, string[]>();
for (const file of files(SRC)) {
  const text = readFileSync(file, "utf8");
  const deps: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
    deps.push(relative(SRC, resolve(dirname(file), m[1]!)));
  }
  graph.set(relative(SRC, file), deps);
}
const plane = (p: string) => p.split("/")[0]!;

test("the import graph was read", () => {
  expect(graph.size).toBeGreaterThan(100);
  for (const deps of graph.values()) for (const d of deps) expect(graph.has(d) || d.endsWith(".json")).toBe(true);
});

test("engines import no pipeline code (policies, data, control)", () => {
  const bad: string[] = [];
  for (const [file, deps] of graph) {
    if (!ENGINES.includes(plane(file))) continue;
    for (const d of deps) if (["policies", "data", "control"].includes(plane(d))) bad.push(`${file} -> ${d}`);
  }
  expect(bad).toEqual([]);
});

test("policies import neither plane", () => {
  const bad: string[] = [];
  for (const [file, deps] of graph) {
    if (plane(file) !== "policies") continue;
    for (const d of deps) if (plane(d) === "data" || plane(d) === "control") bad.push(`${file} -> ${d}`);
  }
  expect(bad).toEqual([]);
});

test("the data plane imports nothing of the control plane", () => {
  const bad: string[] = [];
  for (const [file, deps] of graph) {
    if (plane(file) !== "data") continue;
    for (const d of deps) if (plane(d) === "control") bad.push(`${file} -> ${d}`);
  }
  expect(bad).toEqual([]);
});

test("no import cycles, type-only imports included", () => {
  const cycles: string[] = [];
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 1);
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === 1) cycles.push([...stack.slice(stack.indexOf(d)), d].join(" -> "));
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, 2);
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  expect(cycles).toEqual([]);
});
