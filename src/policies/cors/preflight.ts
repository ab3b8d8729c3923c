/**
 * The pre-route half of CORS: which rule answers a preflight. Preflights are
 * routed by the method they ask for (Access-Control-Request-Method) in a
 * router of their own, one entry per group of routes the main router also
 * keeps as one entry (same path, methods and hosts: `match` variants), so
 * version routing and CORS can be used together.
 *
 * Within a group the variant the preflight's own conditions pick decides, as
 * routing the OPTIONS would pick it (most conditions first). A preflight
 * carries no values of the actual request's own headers, so when no variant's
 * conditions hold, it is answered only when every variant's rule allows it:
 * the actual request may reach any of them.
 *
 * A route's `ip` filter comes first (DESIGN.md step 3: IP allow/deny, then
 * the CORS preflight): a client the route does not admit gets its 403, not a
 * preflight answer.
 */
import type { GatewayConfig, RouteConfig } from "../../config/types.ts";
import { CorsRule, mergeCors } from "../../edge/cors.ts";
import { IpFilter } from "../../edge/ip-filter.ts";
import { conditionCount, conditionsHold, variantKey, type ConditionView, type RouteConditions } from "../../router/conditions.ts";
import { Router } from "../../router/radix.ts";
import { queryValue } from "../../transform/index.ts";
import type { RequestContext } from "../context.ts";
import { reject } from "../respond.ts";

interface Variant {
  readonly match: RouteConditions | null;
  /** null: CORS is off for this route (`cors = false`). */
  readonly rule: CorsRule | null;
  readonly ip: IpFilter | null;
}

/** What a preflight gets: the answer's fields, a refusal of the client's address, or nothing (the OPTIONS goes on). */
export type PreflightVerdict = Headers | Response | null;

export class PreflightGroup {
  constructor(private readonly variants: readonly Variant[]) {}

  judge(ctx: RequestContext, origin: string, method: string, requestHeaders: string | null): PreflightVerdict {
    const vs = this.variants;
    if (vs.length === 1 || vs[0]!.match === null) return this.answer(ctx, vs[0]!, origin, method, requestHeaders);
    const view = new PreflightView(ctx);
    for (const v of vs) if (v.match === null || conditionsHold(v.match, view)) return this.answer(ctx, v, origin, method, requestHeaders);
    // No variant is picked by what the preflight shows: only a yes from all of them is a yes.
    let first: Headers | null = null;
    for (const v of vs) {
      const r = this.answer(ctx, v, origin, method, requestHeaders);
      if (r instanceof Response) return r;
      if (r === null) return null;
      first ??= r;
    }
    return first;
  }

  private answer(ctx: RequestContext, v: Variant, origin: string, method: string, requestHeaders: string | null): PreflightVerdict {
    if (v.ip !== null && !v.ip.admits(ctx.clientIp)) return reject(ctx, 403, "forbidden", "client address not allowed");
    return v.rule === null ? null : v.rule.preflight(origin, method, requestHeaders);
  }
}

class PreflightView implements ConditionView {
  constructor(private readonly ctx: RequestContext) {}
  header(name: string): string | null {
    return this.ctx.req.headers.get(name);
  }
  query(name: string): string | null {
    return queryValue(this.ctx.query, name);
  }
}

/** The preflight router of a config, or null when no route has CORS. */
export function preflightRouter(config: GatewayConfig): Router<PreflightGroup> | null {
  const groups = new Map<string, RouteConfig[]>();
  for (const route of config.routes) {
    const key = variantKey(route);
    const g = groups.get(key);
    if (g === undefined) groups.set(key, [route]);
    else g.push(route);
  }
  const router = new Router<PreflightGroup>();
  let any = false;
  for (const routes of groups.values()) {
    // The main router's order (snapshot.ts groupVariants): most conditions first, config order among equals.
    const sorted = [...routes].sort((a, b) => conditionCount(b.match) - conditionCount(a.match));
    const variants = sorted.map((route): Variant => {
      const s = mergeCors(config.cors, route.cors);
      return { match: route.match, rule: s === null ? null : new CorsRule(s, route.methods), ip: route.ip ? new IpFilter(route.ip) : null };
    });
    if (variants.every((v) => v.rule === null)) continue;
    const first = sorted[0]!;
    router.add(first.path, first.methods, first.hosts, new PreflightGroup(variants));
    any = true;
  }
  if (!any) return null;
  router.compile();
  return router;
}
