/**
 * Request and response transformation (DESIGN.md steps 6 and 8): `request`
 * edits what goes upstream (after strip_prefix), `response` what comes back
 * (before the cache stores it, so the cache keeps the transformed answer).
 * The engine is src/transform; this is its adapter to the pipeline.
 */
import { definePolicy, type Policy } from "../types.ts";
import { normalizeTransformRoute, TRANSFORM_ROUTE_KEYS } from "./config.ts";
import { compileRequestTransform, transformRequest } from "./request.ts";
import { compileResponseTransform, transformResponse } from "./response.ts";

export const transform = definePolicy<void>({
  name: "transform",
  routeKeys: TRANSFORM_ROUTE_KEYS,
  normalizeRoute: normalizeTransformRoute,
  create(route): Policy | null {
    if (route.request === null && route.response === null) return null;
    const policy: { -readonly [K in keyof Policy]: Policy[K] } = { name: "transform" };
    if (route.request !== null) {
      const t = compileRequestTransform(route.request, route.path);
      policy.onUpstreamRequest = (ctx, draft) => transformRequest(t, ctx, draft);
    }
    if (route.response !== null) {
      const t = compileResponseTransform(route.response, route.path);
      policy.onResponse = (ctx, res, body) => transformResponse(t, ctx, res, body);
      if (t.body !== null) policy.bufferResponse = t.body.max;
    }
    return policy;
  },
});
