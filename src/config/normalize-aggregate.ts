/**
 * `[[routes.aggregate]]`: the route's terminal fans out to these upstream
 * calls and answers one JSON object (src/data/aggregate/). Per call:
 *
 *   name             how templates ({user.id}) and errors name it; default its `as`
 *   upstream         default the route's `upstream`
 *   path             template, may carry a query: "/orders?user={user}"
 *   method           default "GET" (calls send no body)
 *   headers          { name = "template" } set on the call
 *   forward_headers  client headers copied to the call (e.g. ["authorization"]); default none
 *   as | merge       the key its JSON lands under, or merge = true: its object's fields at the top level
 *   optional         a failure leaves its key null and is reported; default false (the whole answer fails)
 *   timeout          bound of this call; the route's `timeout` bounds the whole fan-out
 *   response         { allow, remove, rename, set, add } on this call's JSON
 *
 * Checked here: names unique, upstreams exist, templates compile, references
 * name other calls, and the calls' dependencies have no cycle.
 */
import { Type } from "@sinclair/typebox";
import { ResponseBodyEditsSchema } from "../policies/transform/config.ts";
import { compileJsonEdits, compileTemplate, literalProblem, referencedCalls, routeParamNames, type EditProblem, type RawJsonEdits } from "../transform/index.ts";
import { validateRouteMethod } from "../router/radix.ts";
import { type NormalizeContext, type RouteRefs, readDuration, readHeaderName, requirePositive } from "./normalize-common.ts";
import type { KeyPath } from "./problems.ts";
import { Bool, Duration, NonEmpty, opt, Str, StrList, table } from "./schema-kit.ts";

const CallSchema = table({
  name: opt(NonEmpty),
  upstream: opt(NonEmpty),
  path: Str,
  method: opt(NonEmpty),
  headers: opt(Type.Record(Type.String(), Str, { errorMessage: 'expected a table of name = "value"' })),
  forward_headers: opt(StrList),
  as: opt(NonEmpty),
  merge: opt(Bool),
  optional: opt(Bool),
  timeout: opt(Duration),
  response: opt(ResponseBodyEditsSchema),
});

export const AGGREGATE_ROUTE_KEYS = {
  aggregate: opt(Type.Array(CallSchema, { minItems: 1, errorMessage: "expected a non-empty list of [[routes.aggregate]] tables" })),
};

export interface AggregateCallConfig {
  name: string;
  upstream: string;
  path: string;
  method: string;
  headers: Record<string, string>;
  forward_headers: string[];
  /** null with merge. */
  as: string | null;
  merge: boolean;
  optional: boolean;
  /** 0: bounded by the route's timeout only. */
  timeout: number;
  response: RawJsonEdits | null;
  /** Names of the calls whose answers its templates use: it starts once they are in. */
  depends: string[];
}

export interface AggregateRouteConfig {
  /** [] for a proxy route. */
  aggregate: AggregateCallConfig[];
}

type RawCall = Record<string, unknown>;

export function normalizeAggregate(ctx: NormalizeContext, raw: Record<string, unknown>, at: KeyPath, refs: RouteRefs): AggregateRouteConfig {
  const list = raw.aggregate as (RawCall | undefined)[] | undefined;
  if (list === undefined) return { aggregate: [] };
  const params = typeof raw.path === "string" ? routeParamNames(raw.path) : [];
  // The calls are built from their own templates: the proxy's request edits have nothing to act on.
  for (const key of ["request", "strip_prefix"]) {
    if (raw[key] !== undefined) ctx.problems.add([...at, key], "does not apply to an aggregate route (each [[routes.aggregate]] call has its own path and headers)");
  }
  const routeUpstream = typeof raw.upstream === "string" ? raw.upstream : null;
  const names = new Map<string, number>();
  list.forEach((c, i) => {
    if (c === undefined) return;
    const name = (c.name ?? c.as) as string | undefined;
    const where = [...at, "aggregate", i];
    if (name === undefined) {
      if (c.merge === true) ctx.problems.add([...where, "name"], "a merged call needs a name");
      return;
    }
    if (["claim", "header", "query"].includes(name)) ctx.problems.add([...where, c.name ? "name" : "as"], `${JSON.stringify(name)} is reserved for templates`);
    const first = names.get(name);
    if (first !== undefined) ctx.problems.add([...where, c.name ? "name" : "as"], `duplicate call name ${JSON.stringify(name)} (also aggregate[${first}])`);
    else names.set(name, i);
  });
  const calls: AggregateCallConfig[] = [];
  const callNames = new Set(names.keys());
  list.forEach((c, i) => {
    if (c === undefined) return;
    const where = [...at, "aggregate", i];
    const name = ((c.name ?? c.as) as string | undefined) ?? `#${i}`;
    const upstream = (c.upstream as string | undefined) ?? routeUpstream;
    if (upstream === null) ctx.problems.add([...where, "upstream"], "required key missing (the route has no upstream either)");
    else if (!refs.upstreamNames.has(upstream)) ctx.problems.add([...where, "upstream"], `no upstream named ${JSON.stringify(upstream)}`);
    const merge = c.merge === true;
    if (merge && c.as !== undefined) ctx.problems.add([...where, "merge"], "a call either lands under `as` or is merged, not both");
    if (!merge && c.as === undefined) ctx.problems.add([...where, "as"], "required key missing (or merge = true)");
    const method = typeof c.method === "string" ? c.method.toUpperCase() : "GET";
    const badMethod = validateRouteMethod(method);
    if (badMethod !== null) ctx.problems.add([...where, "method"], badMethod);
    const opts = { params, calls: callNames };
    const depends = new Set<string>();
    const path = typeof c.path === "string" ? c.path : "/";
    const pt = compileTemplate(path, "path", opts);
    if (typeof pt === "string") ctx.problems.add([...where, "path"], pt);
    else {
      if (!path.startsWith("/")) ctx.problems.add([...where, "path"], 'must start with "/"');
      else if (path.includes("#")) ctx.problems.add([...where, "path"], "a fragment is not part of a request target");
      else {
        const q = path.indexOf("?");
        const parts: [string, "path" | "query"][] = q < 0 ? [[path, "path"]] : [[path.slice(0, q), "path"], [path.slice(q), "query"]];
        for (const [text, place] of parts) {
          const part = compileTemplate(text, place, opts);
          const bad = typeof part === "string" ? part : literalProblem(part, place);
          if (bad !== null) {
            ctx.problems.add([...where, "path"], bad);
            break;
          }
        }
      }
      for (const d of referencedCalls(pt)) depends.add(d);
    }
    const headers = (c.headers as Record<string, string> | undefined) ?? {};
    for (const [n, v] of Object.entries(headers)) {
      readHeaderName(ctx, n, [...where, "headers", n]);
      const t = compileTemplate(v, "header", opts);
      if (typeof t === "string") ctx.problems.add([...where, "headers", n], t);
      else {
        const bad = literalProblem(t, "header");
        if (bad !== null) ctx.problems.add([...where, "headers", n], bad);
        for (const d of referencedCalls(t)) depends.add(d);
      }
    }
    const forward = ((c.forward_headers as (string | undefined)[] | undefined) ?? [])
      .map((h, k) => (h === undefined ? null : readHeaderName(ctx, h, [...where, "forward_headers", k])))
      .filter((h): h is string => h !== null);
    if (depends.has(name)) ctx.problems.add([...where, "path"], `the call ${JSON.stringify(name)} cannot depend on itself`);
    const timeout = readDuration(ctx, c.timeout as string | undefined, [...where, "timeout"], 0);
    requirePositive(ctx, timeout, c.timeout as string | undefined, [...where, "timeout"]);
    let response: RawJsonEdits | null = null;
    if (c.response !== undefined) {
      response = c.response as RawJsonEdits;
      const problems: EditProblem[] = [];
      compileJsonEdits(response, { params }, problems);
      for (const p of problems) ctx.problems.add([...where, "response", ...p.path], p.message);
    }
    calls.push({
      name,
      upstream: upstream ?? "",
      path,
      method,
      headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
      forward_headers: forward,
      as: merge ? null : ((c.as as string | undefined) ?? null),
      merge,
      optional: c.optional === true,
      timeout,
      response,
      depends: [...depends].filter((d) => d !== name),
    });
  });
  const cycle = findCycle(calls);
  if (cycle !== null) ctx.problems.add([...at, "aggregate"], `the calls depend on each other in a cycle: ${cycle.join(" -> ")}`);
  return { aggregate: calls };
}

function findCycle(calls: readonly AggregateCallConfig[]): string[] | null {
  const byName = new Map(calls.map((c) => [c.name, c]));
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (name: string): string[] | null => {
    const s = state.get(name);
    if (s === 2) return null;
    if (s === 1) return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, 1);
    stack.push(name);
    for (const d of byName.get(name)?.depends ?? []) {
      const found = visit(d);
      if (found !== null) return found;
    }
    stack.pop();
    state.set(name, 2);
    return null;
  };
  for (const c of calls) {
    const found = visit(c.name);
    if (found !== null) return found;
  }
  return null;
}
