/**
 * Request and response transformation (DESIGN.md steps 6 and 8): `request`
 * edits what goes upstream (after strip_prefix), `response` what comes back
 * (before the cache stores it, so the cache keeps the transformed answer).
 * The engine is src/transform; this is its adapter to the pipeline.
 */
import type { UpstreamDraft } from "../context.ts";
import { definePolicy, type Policy } from "../types.ts";
import { normalizeTransformRoute, TRANSFORM_ROUTE_KEYS } from "./config.ts";
import { compileRequestTransform, transformRequest } from "./request.ts";
import { compileResponseTransform, transformResponse } from "./response.ts";

function dropRange(draft: UpstreamDraft): void {
  draft.removeHeader("range");
  draft.removeHeader("if-range");
}

export const transform = definePolicy<void>({
  name: "transform",
  routeKeys: TRANSFORM_ROUTE_KEYS,
  normalizeRoute: normalizeTransformRoute,
  create(route): Policy | null {
    if (route.request === null && route.response === null) return null;
    const policy: { -readonly [K in keyof Policy]: Policy[K] } = { name: "transform" };
    const req = route.request === null ? null : compileRequestTransform(route.request, route.path);
    const res = route.response === null ? null : compileResponseTransform(route.response, route.path);
    // Byte ranges of the upstream's representation are not ranges of the edited one: ask for it whole (RFC 9110 §14.2 lets a server ignore Range).
    const wholeBody = res !== null && res.body !== null;
    if (req !== null) {
      policy.onUpstreamRequest = wholeBody
        ? (ctx, draft) => {
            dropRange(draft);
            return transformRequest(req, ctx, draft);
          }
        : (ctx, draft) => transformRequest(req, ctx, draft);
    } else if (wholeBody) policy.onUpstreamRequest = (_ctx, draft) => dropRange(draft);
    if (res !== null) {
      policy.onResponse = (ctx, r, body) => transformResponse(res, ctx, r, body);
      if (res.body !== null) policy.bufferResponse = res.body.max;
    }
    return policy;
  },
});
