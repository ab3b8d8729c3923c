/**
 * The compiled matcher: turns one host's tree into JavaScript once, when the
 * routes are in (compile, don't interpret), so a lookup loads no tree node:
 *
 * - each node's children become a `switch` on one char code; a child's prefix
 *   is checked with char-code comparisons against constants, or one
 *   `startsWith` for a prefix of 5+ chars (a native compare beats JS there);
 * - backtracking is the fall-through from one alternative block to the next
 *   (static, then param, then wildcard), the order walk.ts follows;
 * - param offsets live in local variables, passed to a small builder shared
 *   by the endpoints whose routes name their params alike, which returns the
 *   params object as a literal with fixed keys.
 *
 * It must agree with walk.ts: test/router runs both against the same cases
 * and against random tables.
 *
 * Safety: the generated code contains numbers, variable names it makes
 * itself, and two kinds of text, both through JSON.stringify: static prefixes
 * (validated RFC 3986 pchar, pattern.ts) and param names ([A-Za-z0-9_]+, as
 * computed keys so "__proto__" stays an own property). Endpoints are passed in
 * an array and referenced by index.
 */

import type { MatchState, TreeMatcher } from "./match.ts";
import type { Endpoint, Node } from "./node.ts";
import { decodeParam } from "./params.ts";

/**
 * A subtree whose code grows past this many chars becomes its own function:
 * JSC's optimizing tier compiles functions whole, and one huge function
 * takes seconds to optimize (measured: a 34k-bytecode function, 0.9 s of FTL
 * time). 3000 measured slower lookups (more calls); 20000 no faster.
 */
const SPLIT_AT = 6000;

/** A captured param: expressions for its start and end offsets. */
type Capture = readonly [start: string, end: string];

export function compileTree<T>(root: Node<T>, st: MatchState<T>): TreeMatcher<T> {
  const endpoints: Endpoint<T>[] = [];
  const helpers: string[] = [];
  let vars = 0;
  let subtrees = 0;

  const ref = (ep: Endpoint<T>): string => {
    let i = endpoints.indexOf(ep);
    if (i === -1) i = endpoints.push(ep) - 1;
    return `EP[${i}]`;
  };

  /**
   * Builders of params matches, one per list of names, shared by every
   * endpoint with those names: the matcher keeps a short call per endpoint,
   * so it stays small (JSC compiles it faster) and only builders that run
   * get optimized.
   */
  const builders = new Map<string, string>();
  const builder = (names: readonly string[]): string => {
    const key = names.join("/");
    let name = builders.get(key);
    if (name === undefined) {
      name = `b${builders.size}`;
      builders.set(key, name);
      const args = names.map((_, i) => `a${i}, z${i}`).join(", ");
      const literal = (wrap: (v: string) => string) =>
        `{ ${names.map((n, i) => `[${JSON.stringify(n)}]: ${wrap(`path.slice(a${i}, z${i})`)}`).join(", ")} }`;
      helpers.push(`function ${name}(ep, path, ${args}) {
  const r = st.route(ep);
  if (r === undefined) return null;
  return { value: r.value, params: path.indexOf("%", a0) === -1 ? ${literal((v) => v)} : ${literal((v) => `D(${v})`)} };
}`);
    }
    return name;
  };

  /** Returns the match at `ep` when a route there takes the method; the mismatch is noted otherwise. */
  function answer(ep: Endpoint<T>, caps: readonly Capture[]): string {
    if (caps.length === 0) return `{ const r = st.route(${ref(ep)}); if (r !== undefined) return r.staticMatch; }`;
    const names = ep.routes[0]!.names;
    if (ep.routes.some((r) => r.names.join("/") !== names.join("/"))) {
      // Routes on one shape that name their params differently: the route's own builder.
      const fill = caps.map(([a, b], i) => `S[${i}] = ${a}; E[${i}] = ${b};`).join(" ");
      return `{ ${fill} const m = st.take(${ref(ep)}, path, ${caps.length}); if (m !== null) return m; }`;
    }
    return `{ const m = ${builder(names)}(${ref(ep)}, path, ${caps.flat().join(", ")}); if (m !== null) return m; }`;
  }

  /** Code trying everything under `node`, whose prefix ends at offset `p`: returns on a match, falls through otherwise. */
  function gen(node: Node<T>, p: string, caps: readonly Capture[]): string {
    const atEnd: string[] = [];
    if (node.endpoint !== null) atEnd.push(answer(node.endpoint, caps));
    if (node.wildcard !== null) atEnd.push(answer(node.wildcard, [...caps, ["len", "len"]]));

    // Past the end, charCodeAt is NaN and indexOf -1, so none of these need a length check.
    const more: string[] = [];
    const cases = node.kids.filter((k): k is Node<T> => k !== null).map((kid) => {
      const q = `p${++vars}`;
      const body = `const ${q} = ${p} + ${kid.prefix.length};\n${sub(kid, q, caps)}`;
      const rest = [...kid.prefix.slice(1)].map((c, i) => `path.charCodeAt(${p} + ${i + 1}) === ${c.charCodeAt(0)}`);
      const test = rest.length >= 4 ? `path.startsWith(${JSON.stringify(kid.prefix)}, ${p})` : rest.join(" && ");
      return { code: kid.prefix.charCodeAt(0), body: test === "" ? body : `if (${test}) {\n${body}}` };
    });
    if (cases.length === 1) {
      more.push(`if (path.charCodeAt(${p}) === ${cases[0]!.code}) {\n${cases[0]!.body}\n}`);
    } else if (cases.length > 1) {
      more.push(`switch (path.charCodeAt(${p})) {\n${cases.map((c) => `case ${c.code}: {\n${c.body}\nbreak;\n}`).join("\n")}\n}`);
    }
    if (node.param !== null) {
      const q = `p${++vars}`;
      const inner = sub(node.param, q, [...caps, [p, q]]);
      more.push(`{\nlet ${q} = path.indexOf("/", ${p});\nif (${q} === -1) ${q} = len;\nif (${q} > ${p}) {\n${inner}\n}\n}`);
    }
    if (node.wildcard !== null) {
      more.push(`if (path.charCodeAt(${p}) === 47) {\nconst w = ${p} + 1;\n${answer(node.wildcard, [...caps, ["w", "len"]])}\n}`);
    }

    const end = atEnd.join("\n");
    const mid = more.join("\n");
    if (end !== "" && mid !== "") return `if (${p} === len) {\n${end}\n} else {\n${mid}\n}\n`;
    if (end !== "") return `if (${p} === len) {\n${end}\n}\n`;
    return mid;
  }

  /** gen(), moved into a helper function when it is large; captures are passed as arguments. */
  function sub(node: Node<T>, p: string, caps: readonly Capture[]): string {
    const code = gen(node, p, caps);
    if (code.length < SPLIT_AT) return code;
    const args = [...new Set(["path", "len", p, ...caps.flat()])].join(", ");
    const name = `f${subtrees++}`;
    helpers.push(`function ${name}(${args}) {\n${code}\nreturn null;\n}`);
    return `{ const m = ${name}(${args}); if (m !== null) return m; }\n`;
  }

  const body = gen(root, "p0", []);
  const src = `"use strict";\n${helpers.join("\n")}\nreturn function match(path) {\nconst len = path.length;\nconst p0 = 0;\n${body}\nreturn null;\n};`;
  return new Function("st", "EP", "S", "E", "D", src)(st, endpoints, st.starts, st.ends, decodeParam) as TreeMatcher<T>;
}
