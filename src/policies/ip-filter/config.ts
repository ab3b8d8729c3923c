/**
 * `ip = { allow, deny }` per route and `[ip]` for every request: CIDR lists
 * (IPv4 and IPv6, bare addresses allowed), checked at load entry by entry so
 * a bad one is reported with its key path.
 */
import type { NormalizeContext } from "../../config/normalize-common.ts";
import type { KeyPath } from "../../config/problems.ts";
import { opt, StrList, table } from "../../config/schema-kit.ts";
import { compileCidrs } from "../../util/cidr.ts";

export const IpTable = table({ allow: opt(StrList), deny: opt(StrList) });
export const IP_ROUTE_KEYS = { ip: opt(IpTable) };
export const IP_SECTION_KEYS = { ip: opt(IpTable) };

export interface IpFilterConfig {
  /** Empty: every address not denied passes. */
  allow: string[];
  deny: string[];
}

export interface IpFilterRouteConfig {
  ip: IpFilterConfig | null;
}

export function normalizeIpTable(ctx: NormalizeContext, raw: unknown, at: KeyPath): IpFilterConfig | null {
  if (raw === undefined || raw === null || typeof raw !== "object") return null;
  const t = raw as Record<string, unknown>;
  const out: IpFilterConfig = { allow: [], deny: [] };
  for (const key of ["allow", "deny"] as const) {
    const list = t[key];
    if (!Array.isArray(list)) continue;
    list.forEach((entry, i) => {
      if (typeof entry !== "string") return;
      try {
        compileCidrs([entry]);
        out[key].push(entry);
      } catch (e) {
        ctx.problems.add([...at, key, i], (e as Error).message);
      }
    });
  }
  return out.allow.length === 0 && out.deny.length === 0 ? null : out;
}

export function normalizeIpRoute(ctx: NormalizeContext, raw: Record<string, unknown>, at: KeyPath): IpFilterRouteConfig {
  return { ip: normalizeIpTable(ctx, raw.ip, [...at, "ip"]) };
}
