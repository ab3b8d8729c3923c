/**
 * CORS (DESIGN.md step 3). Two halves:
 * - pre-route: a preflight (OPTIONS with Origin and Access-Control-Request-
 *   Method) is answered 204 before routing, so a route that only takes GET
 *   still answers its preflight (not 405), and before auth (a browser never
 *   sends credentials on a preflight). The route is found by the method the
 *   preflight asks for, in a router of the CORS rules built at load
 *   (preflight.ts: `match` variants, and the route's `ip` filter first).
 * - the route's recipe entry: the actual request's response gets Vary: Origin
 *   always and the Allow-Origin/Credentials/Expose fields for an allowed
 *   origin. A disallowed origin just gets no CORS fields: the request itself
 *   still goes through (non-browser clients send Origin too).
 */
import { CorsRule, mergeCors } from "../../edge/cors.ts";
import { definePolicy, type Policy } from "../types.ts";
import { CORS_ROUTE_KEYS, CORS_SECTION_KEYS, normalizeCorsRoute, normalizeCorsTable } from "./config.ts";
import { preflightRouter } from "./preflight.ts";

export const cors = definePolicy<void>({
  name: "cors",
  sectionKeys: CORS_SECTION_KEYS,
  normalizeSections: (ctx, doc) => ({ cors: doc.cors === undefined ? null : normalizeCorsTable(ctx, doc.cors, ["cors"]) }),
  routeKeys: CORS_ROUTE_KEYS,
  normalizeRoute: normalizeCorsRoute,
  verify(config, problems) {
    let globalChecked = false;
    config.routes.forEach((route, i) => {
      const s = mergeCors(config.cors, route.cors);
      if (s === null) return;
      // A route that only inherits [cors] reports at [cors], once for all of them.
      const own = route.cors !== null && Object.keys(route.cors).length > 0;
      if (!own && globalChecked) return;
      if (!own) globalChecked = true;
      const at = own ? ["routes", i, "cors"] : ["cors"];
      if (s.origins.length === 0) problems.add([...at, "origins"], "CORS needs at least one allowed origin");
      // Fetch: a credentialed response may not use "*" (the browser refuses it), so the config cannot promise it.
      if (s.credentials && s.origins.includes("*")) problems.add([...at, "origins"], '"*" cannot be used with credentials = true; list the origins');
    });
  },
  preRoute(_setup, config): Policy | null {
    const router = preflightRouter(config);
    if (router === null) return null;
    return {
      name: "cors",
      onRequest(ctx) {
        if (ctx.method !== "OPTIONS") return undefined;
        const h = ctx.req.headers;
        const origin = h.get("origin");
        const method = h.get("access-control-request-method");
        if (origin === null || method === null) return undefined;
        const match = router.find(method, ctx.host, ctx.path);
        if (match === null || match.value === undefined) return undefined;
        const verdict = match.value.judge(ctx, origin, method, h.get("access-control-request-headers"));
        // Refused: no CORS fields, and the OPTIONS request goes on like any other.
        if (verdict === null) return undefined;
        // The route's ip filter did not admit the client.
        if (verdict instanceof Response) return verdict;
        return new Response(null, { status: 204, headers: verdict });
      },
    };
  },
  create(route, _setup, config): Policy | null {
    const s = mergeCors(config.cors, route.cors);
    if (s === null) return null;
    const rule = new CorsRule(s, route.methods);
    return {
      name: "cors",
      onResponse(ctx, res) {
        rule.decorate(ctx.req.headers.get("origin"), res.headers);
      },
    };
  },
});
