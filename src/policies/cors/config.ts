/**
 * `cors`: the Fetch standard's CORS protocol. `[cors]` holds the defaults of
 * every route; a route's `cors` table overrides them key by key, and
 * `cors = false` turns CORS off for that route.
 */
import { Type } from "@sinclair/typebox";
import type { NormalizeContext } from "../../config/normalize-common.ts";
import type { KeyPath } from "../../config/problems.ts";
import { Bool, Duration, opt, StrList, table } from "../../config/schema-kit.ts";
import { parseDuration } from "../../config/units.ts";
import type { CorsSettings } from "../../edge/cors.ts";

export const CorsTable = table({
  origins: opt(StrList),
  methods: opt(StrList),
  headers: opt(StrList),
  expose: opt(StrList),
  credentials: opt(Bool),
  max_age: opt(Duration),
});
export const CORS_SECTION_KEYS = { cors: opt(CorsTable) };
export const CORS_ROUTE_KEYS = {
  cors: opt(Type.Union([CorsTable, Bool], { errorMessage: "expected a cors table or false" })),
};

/** The keys a table set; missing keys come from [cors], then the defaults. */
export type CorsOverride = Partial<CorsSettings>;

export interface CorsRouteConfig {
  /** null: [cors] as it is; false: off for this route. */
  cors: CorsOverride | false | null;
}

export function normalizeCorsTable(ctx: NormalizeContext, raw: unknown, at: KeyPath): CorsOverride | null {
  if (raw === null || typeof raw !== "object") return null;
  const t = raw as Record<string, unknown>;
  const out: CorsOverride = {};
  const list = (key: "origins" | "methods" | "headers" | "expose", upper: boolean) => {
    const v = t[key];
    if (!Array.isArray(v)) return;
    const items: string[] = [];
    v.forEach((s, i) => {
      if (typeof s !== "string") return;
      const bad = key === "origins" ? originProblem(s) : tokenProblem(s);
      if (bad) ctx.problems.add([...at, key, i], bad);
      else items.push(upper ? s.toUpperCase() : key === "origins" ? s : s.toLowerCase());
    });
    out[key] = items;
  };
  list("origins", false);
  list("methods", true);
  list("headers", false);
  list("expose", false);
  if (typeof t.credentials === "boolean") out.credentials = t.credentials;
  if (typeof t.max_age === "string") {
    try {
      out.max_age = Math.floor(parseDuration(t.max_age) / 1000);
    } catch (e) {
      ctx.problems.add([...at, "max_age"], (e as Error).message);
    }
  }
  return out;
}

/** An origin is serialized as scheme://host[:port] (RFC 6454 §6.2), no path, no trailing slash; "*" and "null" are literal. */
function originProblem(s: string): string | null {
  if (s === "*" || s === "null") return null;
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]+$/i.test(s)) return `${JSON.stringify(s)} is not an origin like "https://app.example.com" (no path, no trailing slash)`;
  return null;
}

function tokenProblem(s: string): string | null {
  if (s === "*") return null;
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(s) ? null : `${JSON.stringify(s)} is not a header or method name`;
}

export function normalizeCorsRoute(ctx: NormalizeContext, raw: Record<string, unknown>, at: KeyPath): CorsRouteConfig {
  const v = raw.cors;
  if (v === false) return { cors: false };
  if (v === true || v === undefined) return { cors: v === true ? {} : null };
  return { cors: normalizeCorsTable(ctx, v, [...at, "cors"]) };
}
