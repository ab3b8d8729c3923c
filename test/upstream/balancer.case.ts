import { describe, expect, test } from "bun:test";
import type { BalancerName } from "../../src/config/types.ts";
import { createBalancer, newCandidates } from "../../src/upstream/balancers/index.ts";
import { ctx, ManualClock, setup, upstream, urls } from "./helpers.ts";

/**
 * The conformance suite every balancer runs (Hono's common.case.test.ts
 * pattern): the same guarantees whatever the algorithm, checked through the
 * runtime that feeds it candidates.
 */

/** Requests with different client IPs, paths, headers, cookies and query strings, so hash balancers spread. */
const contexts = Array.from({ length: 64 }, (_, k) =>
  ctx({
    clientIp: `10.0.${k >> 4}.${k}`,
    path: `/items/${k}`,
    query: `?user=u${k}`,
    headers: { "x-user": `u${k}`, cookie: `session=s${k}` },
  }),
);

export function balancerConformance(balancer: BalancerName, hashKey: string | null = null): void {
  describe(`balancer conformance: ${balancer}${hashKey ? ` (${hashKey})` : ""}`, () => {
    const make = (targets: Parameters<typeof upstream>[0]["targets"]) => setup(upstream({ balancer, hash_key: hashKey, targets }));

    test("every pick is a usable target, and every usable target gets picked", () => {
      const { rt, view } = make(urls(5));
      view.setHealth(0, 1, false);
      view.setHealth(0, 3, false);
      const seen = new Set<number>();
      for (let k = 0; k < 640; k++) {
        const i = rt.pick(contexts[k % contexts.length]!, null);
        expect([0, 2, 4]).toContain(i);
        seen.add(i);
      }
      expect([...seen].sort()).toEqual([0, 2, 4]);
    });

    test("a target coming back up is picked again", () => {
      const { rt, view } = make(urls(3));
      view.setHealth(0, 0, false);
      for (let k = 0; k < 100; k++) expect(rt.pick(contexts[k % 64]!, null)).not.toBe(0);
      view.setHealth(0, 0, true);
      const seen = new Set<number>();
      for (let k = 0; k < 300; k++) seen.add(rt.pick(contexts[k % 64]!, null));
      expect(seen.has(0)).toBe(true);
    });

    test("excluded targets are never picked", () => {
      const { rt } = make(urls(4));
      for (let k = 0; k < 400; k++) {
        const i = rt.pick(contexts[k % 64]!, [0, 2]);
        expect([1, 3]).toContain(i);
      }
      expect(rt.pick(contexts[0]!, [0, 1, 2, 3])).toBe(-1);
    });

    test("backups get traffic only when no primary is usable", () => {
      const targets = [...urls(3), { url: "http://127.0.0.1:4001", backup: true }, { url: "http://127.0.0.1:4002", backup: true }];
      const { rt, view } = make(targets);
      for (let k = 0; k < 300; k++) expect(rt.pick(contexts[k % 64]!, null)).toBeLessThan(3);
      for (let t = 0; t < 3; t++) view.setHealth(0, t, false);
      const seen = new Set<number>();
      for (let k = 0; k < 300; k++) seen.add(rt.pick(contexts[k % 64]!, null));
      expect([...seen].sort()).toEqual([3, 4]);
      // One primary back: backups idle again.
      view.setHealth(0, 1, true);
      for (let k = 0; k < 300; k++) expect(rt.pick(contexts[k % 64]!, null)).toBe(1);
      // Every usable primary already tried: the retry goes to a backup.
      expect([3, 4]).toContain(rt.pick(contexts[0]!, [1]));
    });

    test("-1 when nothing is usable: all down, all breakers open, all passively failed", () => {
      const clock = new ManualClock();
      const down = make(urls(3));
      for (let t = 0; t < 3; t++) down.view.setHealth(0, t, false);
      expect(down.rt.pick(contexts[0]!, null)).toBe(-1);

      const breaker = { failures: 1, open_for: 1000, half_open_requests: 1, statuses: [] };
      const open = setup(upstream({ balancer, hash_key: hashKey, targets: urls(3), circuit_breaker: breaker }), clock.now);
      for (let t = 0; t < 3; t++) {
        open.rt.onStart(t);
        open.rt.onEnd(t, true, 1);
      }
      expect(open.rt.pick(contexts[0]!, null)).toBe(-1);

      const passive = { max_fails: 2, fail_timeout: 5000 };
      const failed = setup(upstream({ balancer, hash_key: hashKey, targets: urls(2), passive }), clock.now);
      for (let t = 0; t < 2; t++) {
        for (let k = 0; k < 2; k++) {
          failed.rt.onStart(t);
          failed.rt.onEnd(t, true, 1);
        }
      }
      expect(failed.rt.pick(contexts[0]!, null)).toBe(-1);
    });

    test("one target: always it, or -1 when it is excluded", () => {
      const { rt } = make(urls(1));
      for (let k = 0; k < 50; k++) expect(rt.pick(contexts[k]!, null)).toBe(0);
      expect(rt.pick(contexts[0]!, [0])).toBe(-1);
    });

    test("the bare balancer returns -1 for no candidates and only listed candidates otherwise", () => {
      const config = upstream({ balancer, hash_key: hashKey, targets: urls(6) });
      const load = { state: new Int32Array(6), inFlightIndex: new Int32Array(6), inFlight: () => 0, latencyUs: () => 0, latencyStamp: () => 0 };
      const b = createBalancer(config, [0, 1, 2, 3, 4, 5], load);
      const c = newCandidates(6);
      expect(b.pick(c, contexts[0]!)).toBe(-1);
      c.list[0] = 4;
      c.list[1] = 1;
      c.count = 2;
      c.usable[4] = 1;
      c.usable[1] = 1;
      for (let k = 0; k < 200; k++) expect([1, 4]).toContain(b.pick(c, contexts[k % 64]!));
    });
  });
}
