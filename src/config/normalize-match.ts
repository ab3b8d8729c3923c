/**
 * `match = { headers = { … }, query = { … } }`: extra route conditions
 * (src/router/conditions.ts). A value is a string (that exact value), a list
 * of strings (any of them), true (present, any value) or false (absent).
 * Default: no conditions.
 */
import { Type } from "@sinclair/typebox";
import type { Condition, RouteConditions } from "../router/conditions.ts";
import type { NormalizeContext } from "./normalize-common.ts";
import { readHeaderName } from "./normalize-common.ts";
import type { KeyPath } from "./problems.ts";
import { Bool, opt, Str, StrList, table } from "./schema-kit.ts";

const MatchValue = Type.Union([Str, StrList, Bool], { errorMessage: "expected a string, a list of strings, or true / false" });
const MatchTable = Type.Record(Type.String(), MatchValue, { errorMessage: "expected a table of name = value" });

export const MATCH_ROUTE_KEYS = { match: opt(table({ headers: opt(MatchTable), query: opt(MatchTable) })) };

export interface MatchRouteConfig {
  /** null: no conditions. */
  match: RouteConditions | null;
}

export function normalizeMatch(ctx: NormalizeContext, raw: Record<string, unknown>, at: KeyPath): MatchRouteConfig {
  const m = raw.match as { headers?: Record<string, unknown>; query?: Record<string, unknown> } | undefined;
  if (m === undefined) return { match: null };
  const read = (table: Record<string, unknown> | undefined, key: "headers" | "query"): Condition[] => {
    const out: Condition[] = [];
    for (const [n, v] of Object.entries(table ?? {})) {
      const path = [...at, "match", key, n];
      let name = n;
      if (key === "headers") name = readHeaderName(ctx, n, path);
      else if (n === "") ctx.problems.add(path, "expected a non-empty parameter name");
      if (v === true) out.push({ kind: "present", name });
      else if (v === false) out.push({ kind: "absent", name });
      else if (typeof v === "string") out.push({ kind: "values", name, values: [v] });
      else if (Array.isArray(v)) {
        const values = v.filter((x): x is string => typeof x === "string");
        if (values.length === 0) ctx.problems.add(path, "expected at least one value");
        out.push({ kind: "values", name, values });
      }
    }
    return out;
  };
  const conditions = { headers: read(m.headers, "headers"), query: read(m.query, "query") };
  if (conditions.headers.length + conditions.query.length === 0) {
    ctx.problems.add([...at, "match"], "expected at least one header or query condition");
    return { match: null };
  }
  return { match: conditions };
}
