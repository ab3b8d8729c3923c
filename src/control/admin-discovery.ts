/**
 * GET /discovery: every name DNS discovery resolves (target host names and
 * SRV names), the endpoints in use, and whether the last query failed (the
 * last good answer stays in use then). Empty when nothing is discovered.
 */
import { Type } from "@sinclair/typebox";
import type { NameStatus } from "../upstream/discovery/discovery.ts";
import type { AdminApi } from "./admin-api.ts";

const Name = Type.Object({
  kind: Type.Union([Type.Literal("host"), Type.Literal("srv")]),
  name: Type.String(),
  endpoints: Type.Array(Type.String(), { description: "addresses (host) or address:port (SRV) in use" }),
  failing: Type.Boolean({ description: "the last query failed; the endpoints are the last good answer" }),
  error: Type.Union([Type.String(), Type.Null()]),
});

export function addDiscoveryRoutes(api: AdminApi, status: () => NameStatus[]): void {
  api.add({
    method: "get", path: "/discovery", tag: "upstreams", summary: "DNS discovery: names, endpoints in use, failures",
    responses: { 200: { description: "discovered names", schema: Type.Array(Name) } },
    handler: () => status(),
  });
}
