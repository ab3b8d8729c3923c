/**
 * The radix tree's building blocks and their construction. Lookup lives in
 * walk.ts (interpreted) and compile.ts (generated code); everything here runs
 * when routes are added.
 */

import { paramsBuilder, type ParamsBuilder } from "./params.ts";
import type { ParsedPattern } from "./pattern.ts";

/** Frozen and shared by every match of a route without params. */
export const EMPTY_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>;

export interface RouteMatch<T> {
  value: T;
  /** Percent-decoded; the shared frozen EMPTY_PARAMS when the route has none. */
  params: Record<string, string>;
}

export interface MethodMismatch {
  value: undefined;
  /** For the Allow header (RFC 9110 §10.2.1): sorted, ", "-separated. */
  allow: string;
}

/** One registered route. */
export class Route<T> {
  readonly value: T;
  readonly pattern: string;
  /** Upper-case; empty = every method. */
  readonly methods: readonly string[];
  /** Param names in path order, "*" last for a wildcard. */
  readonly names: readonly string[];
  /** The answer for a route without params, built once so a static hit allocates nothing. */
  readonly staticMatch: RouteMatch<T> | null;
  private builder: ParamsBuilder | null = null;

  constructor(value: T, pattern: string, methods: readonly string[], names: readonly string[]) {
    this.value = value;
    this.pattern = pattern;
    this.methods = methods;
    this.names = names;
    this.staticMatch = names.length === 0 ? Object.freeze({ value, params: EMPTY_PARAMS }) : null;
  }

  /**
   * Builds the params object (fixed shape) from captured offsets. Made on
   * first use: the compiled matcher inlines its own literal and needs it only
   * for endpoints whose routes name their params differently.
   */
  get buildParams(): ParamsBuilder {
    return (this.builder ??= paramsBuilder(this.names));
  }
}

/**
 * Where a pattern ends: the routes sharing that (host, shape), one per method.
 * `table[methodId]` is the route serving that method (HEAD falls back to GET
 * here, RFC 9110 §9.3.2); `any` serves every other method.
 */
export class Endpoint<T> {
  table: (Route<T> | undefined)[] = [];
  any: Route<T> | undefined = undefined;
  readonly routes: Route<T>[] = [];
  /** The 405 answer when only this endpoint matched; frozen and shared. */
  mismatch: MethodMismatch = Object.freeze({ value: undefined, allow: "" });

  /** Registers `route`; `ids` maps every method name to its id. Duplicates are checked by the caller. */
  add(route: Route<T>, ids: ReadonlyMap<string, number>, getId: number, headId: number): void {
    this.routes.push(route);
    if (route.methods.length === 0) this.any = route;
    const table: (Route<T> | undefined)[] = new Array(ids.size).fill(undefined);
    for (const r of this.routes) for (const m of r.methods) table[ids.get(m)!] = r;
    if (table[headId] === undefined) table[headId] = table[getId];
    this.table = table;
    this.mismatch = Object.freeze({ value: undefined, allow: allowOf([this]) });
  }

  /** The route naming this exact method, for duplicate checks. */
  explicit(method: string): Route<T> | undefined {
    return this.routes.find((r) => r.methods.includes(method));
  }
}

/** The Allow value for endpoints that matched a path: their methods, plus HEAD where GET is. */
export function allowOf(endpoints: readonly Endpoint<unknown>[]): string {
  const set = new Set<string>();
  for (const ep of endpoints) for (const r of ep.routes) for (const m of r.methods) set.add(m);
  if (set.has("GET")) set.add("HEAD");
  return [...set].sort().join(", ");
}

/**
 * A radix node: `prefix` is the static text it consumes (slashes included).
 * A `:param` child hangs only on a node that ends right after a "/" (it has
 * an empty prefix and consumes one segment); a wildcard only where a segment
 * ends or at the root. So no node has both, which the matchers rely on.
 */
export class Node<T> {
  prefix: string;
  /**
   * Static children indexed by the char code of their first char, offset by
   * `kidBase`: one array read finds the only child that can match, with no
   * hashing and no substring.
   */
  kidBase = 0;
  kids: (Node<T> | null)[] = [];
  param: Node<T> | null = null;
  /** Routes ending here. */
  endpoint: Endpoint<T> | null = null;
  /** Routes whose "/*" hangs here: they match when the rest is "" or starts with "/". */
  wildcard: Endpoint<T> | null = null;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  kid(code: number): Node<T> | null {
    const i = code - this.kidBase;
    return i >= 0 && i < this.kids.length ? this.kids[i]! : null;
  }

  setKid(child: Node<T>): void {
    const code = child.prefix.charCodeAt(0);
    if (this.kids.length === 0) {
      this.kidBase = code;
      this.kids = [child];
      return;
    }
    if (code < this.kidBase) {
      const pad: (Node<T> | null)[] = new Array(this.kidBase - code).fill(null);
      this.kids = pad.concat(this.kids);
      this.kidBase = code;
    }
    while (code - this.kidBase >= this.kids.length) this.kids.push(null);
    this.kids[code - this.kidBase] = child;
  }
}

/** Builds the tree path for a parsed pattern and hangs `ep` at its end. */
export function placeRoute<T>(root: Node<T>, parsed: ParsedPattern, ep: Endpoint<T>): void {
  let node = root;
  let text = ""; // static text not yet inserted
  for (const seg of parsed.segments) {
    if (seg.kind === "static") {
      text += "/" + seg.text;
    } else if (seg.kind === "param") {
      node = insertStatic(node, text + "/");
      text = "";
      node = node.param ??= new Node<T>("");
    } else {
      // The wildcard owns the slash before it, so "/static/*" also matches "/static".
      insertStatic(node, text).wildcard = ep;
      return;
    }
  }
  insertStatic(node, text).endpoint = ep;
}

/** Walks `text` from `node`, splitting and adding nodes as needed; returns the node where it ends. */
function insertStatic<T>(node: Node<T>, text: string): Node<T> {
  while (text.length > 0) {
    const child = node.kid(text.charCodeAt(0));
    if (child === null) {
      const leaf = new Node<T>(text);
      node.setKid(leaf);
      return leaf;
    }
    const common = commonPrefix(child.prefix, text);
    let next = child;
    if (common < child.prefix.length) {
      // Split: `mid` takes the shared part, `child` keeps the rest and everything under it.
      const mid = new Node<T>(child.prefix.slice(0, common));
      child.prefix = child.prefix.slice(common);
      mid.setKid(child);
      node.setKid(mid);
      next = mid;
    }
    node = next;
    text = text.slice(common);
  }
  return node;
}

function commonPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}
