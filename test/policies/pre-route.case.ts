/**
 * The conformance suite of the pre-route entries (PRE_ROUTE: they run for
 * every request, before routing, on every route): each is a PRE_ROUTE entry,
 * is in every route's chain and the unrouted chain, lets an ordinary request
 * through synchronously (its onRequest, if any, returns undefined, not a
 * promise), and never changes the answer of a proxied request or a 404.
 */
import { describe, expect, test } from "bun:test";
import { PRE_ROUTE } from "../../src/policies/index.ts";
import { testContext } from "../helpers/context.ts";
import { inProcessGateway, withRoutes } from "../helpers/handler.ts";

const TOML = withRoutes(`
[[routes]]
name = "r"
path = "/r/*"
upstream = "u"
`);

export function runPreRouteCase(name: string): void {
  describe(`pre-route conformance: ${name}`, () => {
    test("is a PRE_ROUTE entry, in every route's chain and the unrouted one", () => {
      expect(PRE_ROUTE.some((f) => f.name === name)).toBe(true);
      const gw = inProcessGateway(TOML);
      const chain = gw.state.snapshot.router.find("GET", "gw.test", "/r/x")!.value!.chain;
      expect(chain.policies.slice(0, chain.preRoute).some((p) => p.name === name)).toBe(true);
      expect(gw.state.snapshot.unrouted.policies.some((p) => p.name === name)).toBe(true);
    });

    test("lets an ordinary request through, synchronously", () => {
      const gw = inProcessGateway(TOML);
      const policy = gw.state.snapshot.unrouted.policies.find((p) => p.name === name)!;
      const r = policy.onRequest?.(testContext({ path: "/r/x" }));
      expect(r instanceof Promise).toBe(false);
      expect(r).toBeUndefined();
    });

    test("a proxied request and a 404 get the same answers as without it", async () => {
      const gw = inProcessGateway(TOML);
      const without = inProcessGateway(TOML, { preRoute: PRE_ROUTE.filter((f) => f.name !== name) });
      for (const g of [gw, without]) {
        const ok = await g.handle("/r/x");
        expect(ok.status).toBe(200);
        const miss = await g.handle("/nowhere");
        expect(miss.status).toBe(404);
        expect(g.client.sent).toHaveLength(1);
      }
    });
  });
}
