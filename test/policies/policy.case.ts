/**
 * The conformance suite every policy of the recipe runs (a
 * test/policies/<name>.test.ts per entry calls runPolicyCase; recipe.test.ts
 * checks that each entry has one). What it holds every policy to:
 *  - it compiles only on routes that use it (a route without its keys gets null);
 *  - its onRequest is synchronous where the case says it can be (no promise
 *    for a local decision);
 *  - an expected denial is a returned Response, never a throw: JSON
 *    { error, message, request_id } with the request's id, and through the
 *    real handler it carries the request-id header too;
 *  - an admitted request goes on (undefined) and reaches the upstream.
 */
import { describe, expect, test } from "bun:test";
import { RECIPE } from "../../src/policies/index.ts";
import type { Policy } from "../../src/policies/types.ts";
import { testContext } from "../helpers/context.ts";
import { inProcessGateway, withRoutes } from "../helpers/handler.ts";

export interface PolicyRequest {
  path?: string;
  method?: string;
  headers?: Record<string, string>;
}

export interface PolicyCase {
  /** The recipe entry's name. */
  name: string;
  /** Keys of route "r" (path "/r/*", upstream "u") that turn the policy on. */
  routeKeys: string;
  /** Other tables the config needs ([jwt], [[consumers]], [auth]). */
  sections?: string;
  /** Requests the policy must refuse, each with its status; `after`: requests sent first (a limit's earlier hits). */
  denials?: (PolicyRequest & { status: number; after?: PolicyRequest[] })[];
  /** Applies to every route by a global key: it compiles on a route without its keys too. */
  global?: boolean;
  /** Requests it must let through. */
  admits?: PolicyRequest[];
  /** onRequest never returns a promise for these requests. Default true. */
  synchronous?: boolean;
}

function build(c: PolicyCase, keys: string) {
  return inProcessGateway(
    withRoutes(`
[[routes]]
name = "r"
path = "/r/*"
upstream = "u"
${keys}
`, c.sections ?? ""),
  );
}

function policyOf(gw: ReturnType<typeof inProcessGateway>, name: string): Policy | undefined {
  return gw.state.snapshot.router.find("GET", "gw.test", "/r/x")!.value!.chain.policies.find((p) => p.name === name);
}

function contextFor(gw: ReturnType<typeof inProcessGateway>, r: PolicyRequest, requestId: string) {
  const route = gw.state.snapshot.router.find("GET", "gw.test", "/r/x")!.value!;
  return testContext({ method: r.method, path: r.path ?? "/r/x", headers: r.headers, requestId, route: route.config });
}

export function runPolicyCase(c: PolicyCase): void {
  describe(`policy conformance: ${c.name}`, () => {
    test("is a recipe entry", () => {
      expect(RECIPE.some((f) => f.name === c.name)).toBe(true);
    });

    if (!c.global) test("a route that does not use it does not compile it", () => {
      expect(policyOf(build(c, ""), c.name)).toBeUndefined();
    });

    test("a route that uses it compiles it, named after its entry", () => {
      expect(policyOf(build(c, c.routeKeys), c.name)?.name).toBe(c.name);
    });

    test("denials are returned JSON with the request id, never thrown, synchronous where they can be", async () => {
      const gw = build(c, c.routeKeys);
      const policy = policyOf(gw, c.name)!;
      for (const [i, d] of (c.denials ?? []).entries()) {
        for (const a of d.after ?? []) await policy.onRequest?.(contextFor(gw, a, "rid-before"));
        const ctx = contextFor(gw, d, `rid-deny-${i}`);
        let r: ReturnType<NonNullable<Policy["onRequest"]>> | undefined;
        expect(() => (r = policy.onRequest?.(ctx))).not.toThrow();
        if (c.synchronous !== false) expect(r instanceof Promise).toBe(false);
        const res = (await r) as Response | undefined;
        expect(res).toBeInstanceOf(Response);
        expect(res!.status).toBe(d.status);
        expect(res!.headers.get("content-type")).toContain("application/json");
        const body = (await res!.json()) as Record<string, unknown>;
        expect(typeof body.error).toBe("string");
        expect(typeof body.message).toBe("string");
        expect(body.request_id).toBe(`rid-deny-${i}`);
      }
    });

    test("denials through the handler carry the request-id header and reach no upstream", async () => {
      const gw = build(c, c.routeKeys);
      let before = 0;
      for (const [i, d] of (c.denials ?? []).entries()) {
        for (const a of d.after ?? []) {
          await gw.handle(a.path ?? "/r/x", { method: a.method, headers: a.headers });
          before++;
        }
        const res = await gw.handle(d.path ?? "/r/x", { method: d.method, headers: { ...d.headers, "x-request-id": `rid-h-${i}` } });
        expect(res.status).toBe(d.status);
        expect(res.headers.get("x-request-id")).toBe(`rid-h-${i}`);
        expect(((await res.json()) as { request_id: string }).request_id).toBe(`rid-h-${i}`);
      }
      expect(gw.client.sent).toHaveLength(before);
    });

    test("admitted requests go on to the upstream", async () => {
      const gw = build(c, c.routeKeys);
      const policy = policyOf(gw, c.name)!;
      for (const a of c.admits ?? []) {
        const r = policy.onRequest?.(contextFor(gw, a, "rid-admit"));
        if (c.synchronous !== false) expect(r instanceof Promise).toBe(false);
        expect(await r).toBeUndefined();
      }
      const fresh = build(c, c.routeKeys);
      for (const a of c.admits ?? []) expect((await fresh.handle(a.path ?? "/r/x", { method: a.method, headers: a.headers })).status).toBe(200);
      expect(fresh.client.sent).toHaveLength((c.admits ?? []).length);
    });
  });
}
