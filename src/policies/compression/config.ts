/**
 * `compression`: response content codings. `[compression]` turns it on for
 * every route with its settings; a route's `compression` table overrides
 * them key by key, `compression = true` uses the defaults, `false` turns it
 * off for the route.
 */
import { Type } from "@sinclair/typebox";
import type { NormalizeContext } from "../../config/normalize-common.ts";
import type { KeyPath } from "../../config/problems.ts";
import { Bool, NonNegativeInt, oneOf, opt, Size, StrList, table } from "../../config/schema-kit.ts";
import { parseSize } from "../../config/units.ts";
import { DEFAULT_LEVELS, LEVEL_RANGES, type Levels } from "../../edge/compress.ts";
import { CODINGS, type Coding } from "../../edge/negotiate.ts";

export const CompressionTable = table({
  algorithms: opt(Type.Array(oneOf(CODINGS), { errorMessage: 'expected a list of "zstd", "br", "gzip"' })),
  min_size: opt(Size),
  types: opt(StrList),
  levels: opt(table({ gzip: opt(NonNegativeInt), br: opt(NonNegativeInt), zstd: opt(NonNegativeInt) })),
});
export const COMPRESSION_SECTION_KEYS = { compression: opt(CompressionTable) };
export const COMPRESSION_ROUTE_KEYS = {
  compression: opt(Type.Union([CompressionTable, Bool], { errorMessage: "expected a compression table, true or false" })),
};

export interface CompressionSettings {
  /** Server preference order, used to break q-value ties. */
  algorithms: Coding[];
  /** Bodies of a known length below this go out as they are. */
  min_size: number;
  /** Media types: "application/json", "text/*", "application/*+json". */
  types: string[];
  levels: Levels;
}

export const DEFAULT_TYPES = [
  "text/*",
  "application/json",
  "application/*+json",
  "application/x-ndjson",
  "application/javascript",
  "application/xml",
  "application/*+xml",
  "image/svg+xml",
];

export const COMPRESSION_DEFAULTS: CompressionSettings = {
  algorithms: ["zstd", "br", "gzip"],
  min_size: 1024,
  types: DEFAULT_TYPES,
  levels: DEFAULT_LEVELS,
};

export type CompressionOverride = Partial<CompressionSettings>;

export interface CompressionRouteConfig {
  /** null: [compression] as it is; false: off for this route. */
  compression: CompressionOverride | false | null;
}

export function normalizeCompressionTable(ctx: NormalizeContext, raw: unknown, at: KeyPath): CompressionOverride | null {
  if (raw === null || typeof raw !== "object") return null;
  const t = raw as Record<string, unknown>;
  const out: CompressionOverride = {};
  if (Array.isArray(t.algorithms)) {
    const list = t.algorithms.filter((a): a is Coding => typeof a === "string");
    if (new Set(list).size !== list.length) ctx.problems.add([...at, "algorithms"], "lists an algorithm twice");
    out.algorithms = [...new Set(list)];
  }
  if (typeof t.min_size === "string") {
    try {
      out.min_size = parseSize(t.min_size);
    } catch (e) {
      ctx.problems.add([...at, "min_size"], (e as Error).message);
    }
  }
  if (Array.isArray(t.types)) {
    const types: string[] = [];
    t.types.forEach((s, i) => {
      if (typeof s !== "string") return;
      if (!/^[a-z0-9!#$&^_.+-]+\/(\*|\*\+[a-z0-9!#$&^_.+-]+|[a-z0-9!#$&^_.+-]+)$/i.test(s)) {
        ctx.problems.add([...at, "types", i], `${JSON.stringify(s)} is not a media type like "application/json", "text/*" or "application/*+json"`);
      } else types.push(s.toLowerCase());
    });
    out.types = types;
  }
  if (t.levels !== null && typeof t.levels === "object") {
    const levels = { ...DEFAULT_LEVELS };
    for (const c of CODINGS) {
      const v = (t.levels as Record<string, unknown>)[c];
      if (typeof v !== "number") continue;
      const [lo, hi] = LEVEL_RANGES[c];
      if (v < lo || v > hi) ctx.problems.add([...at, "levels", c], `expected a level from ${lo} to ${hi}`);
      else levels[c] = v;
    }
    out.levels = levels;
  }
  return out;
}

export function normalizeCompressionRoute(ctx: NormalizeContext, raw: Record<string, unknown>, at: KeyPath): CompressionRouteConfig {
  const v = raw.compression;
  if (v === false) return { compression: false };
  if (v === true || v === undefined) return { compression: v === true ? {} : null };
  return { compression: normalizeCompressionTable(ctx, v, [...at, "compression"]) };
}

export function mergeCompression(global: CompressionOverride | null, route: CompressionOverride | false | null): CompressionSettings | null {
  if (route === false || (global === null && route === null)) return null;
  return { ...COMPRESSION_DEFAULTS, ...global, ...route };
}
