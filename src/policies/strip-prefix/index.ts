/**
 * `strip_prefix` (DESIGN.md step 6): the route's static prefix is removed
 * from the path that goes upstream ("/api/users/1" with strip_prefix "/api"
 * goes as "/users/1"; the prefix alone goes as "/").
 */
import { definePolicy, type Policy } from "../types.ts";
import { normalizeStripPrefix, STRIP_PREFIX_ROUTE_KEYS } from "./config.ts";

export const stripPrefix = definePolicy<void>({
  name: "strip_prefix",
  routeKeys: STRIP_PREFIX_ROUTE_KEYS,
  normalizeRoute: normalizeStripPrefix,
  create(route): Policy | null {
    const prefix = route.strip_prefix;
    if (prefix === null) return null;
    const n = prefix.length;
    return {
      name: "strip_prefix",
      onUpstreamRequest(_ctx, draft) {
        const path = draft.path;
        // The router matched the route, so the path starts with the prefix's whole segments.
        if (path.startsWith(prefix)) draft.path = path.length === n ? "/" : path.slice(n);
      },
    };
  },
});
