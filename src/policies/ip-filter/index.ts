/**
 * IP filters (DESIGN.md step 3, before auth): `[ip]` in the pre-route stage
 * for every request, 404s included; a route's `ip` first in its recipe. The
 * address judged is the client's as resolved through server.trusted_proxies
 * (X-Forwarded-For believed only from them). Denied: 403 JSON.
 */
import { IpFilter } from "../../edge/ip-filter.ts";
import type { RequestContext } from "../context.ts";
import { reject } from "../respond.ts";
import { definePolicy, type Policy } from "../types.ts";
import { IP_ROUTE_KEYS, IP_SECTION_KEYS, normalizeIpRoute, normalizeIpTable, type IpFilterConfig } from "./config.ts";

function filterPolicy(rule: IpFilterConfig, name: string): Policy {
  const filter = new IpFilter(rule);
  return {
    name,
    onRequest(ctx: RequestContext) {
      if (filter.admits(ctx.clientIp)) return undefined;
      return reject(ctx, 403, "forbidden", "client address not allowed");
    },
  };
}

export const ipFilter = definePolicy<void>({
  name: "ip_filter",
  sectionKeys: IP_SECTION_KEYS,
  normalizeSections: (ctx, doc) => {
    // `[server] ip = { ... }` (the and DESIGN's spelling) or an `[ip]` table: one global filter.
    const inServer = (doc.server as Record<string, unknown> | undefined)?.ip;
    if (inServer !== undefined && doc.ip !== undefined) ctx.problems.add(["server", "ip"], "given twice: use [server] ip or [ip], not both");
    return { ip: inServer !== undefined ? normalizeIpTable(ctx, inServer, ["server", "ip"]) : normalizeIpTable(ctx, doc.ip, ["ip"]) };
  },
  routeKeys: IP_ROUTE_KEYS,
  normalizeRoute: normalizeIpRoute,
  preRoute: (_setup, config) => (config.ip ? filterPolicy(config.ip, "ip_filter") : null),
  create: (route) => (route.ip ? filterPolicy(route.ip, "ip_filter") : null),
});
