/**
 * `strip_prefix`: a static leading part of the route's path, removed from
 * the forwarded path. Kept without a trailing "/", so what remains still
 * starts with "/"; "/" strips nothing. Default: none.
 */
import type { NormalizeContext } from "../../config/normalize-common.ts";
import type { KeyPath } from "../../config/problems.ts";
import { opt, Str } from "../../config/schema-kit.ts";
import { validateRoutePath } from "../../router/radix.ts";

export const STRIP_PREFIX_ROUTE_KEYS = { strip_prefix: opt(Str) };

export interface StripPrefixRouteConfig {
  strip_prefix: string | null;
}

export function normalizeStripPrefix(ctx: NormalizeContext, raw: Record<string, unknown>, at: KeyPath): StripPrefixRouteConfig {
  const prefix = raw.strip_prefix;
  if (typeof prefix !== "string") return { strip_prefix: null };
  const bare = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  const path = raw.path;
  if (typeof path === "string" && validateRoutePath(path) === null) {
    const bad = checkStripPrefix(bare, prefix, path);
    if (bad !== null) ctx.problems.add([...at, "strip_prefix"], bad);
  }
  return { strip_prefix: bare === "" ? null : bare };
}

/** The static part of a pattern: the segments before the first ":param" or "*". */
export function staticPart(routePath: string): string {
  const segments = routePath.split("/");
  const stop = segments.findIndex((s, i) => i > 0 && (s.startsWith(":") || s === "*"));
  return stop === -1 ? routePath : segments.slice(0, stop).join("/");
}

/** strip_prefix must cover whole leading segments of the path's static part. */
function checkStripPrefix(bare: string, prefix: string, routePath: string): string | null {
  if (!prefix.startsWith("/")) return 'must start with "/"';
  const fixed = staticPart(routePath);
  if (bare === "" || fixed === bare || fixed.startsWith(`${bare}/`)) return null;
  return `${JSON.stringify(prefix)} is not a leading part of the route path's static part ${JSON.stringify(fixed || "/")}`;
}
