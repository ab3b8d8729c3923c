import { describe, expect, test } from "bun:test";
import { createUpstreamRuntime } from "../../../src/upstream/runtime.ts";
import { countPicks, ctx, setup, upstream, urls } from "../helpers.ts";

describe("least_conn", () => {
  test("picks the target with the fewest requests in flight", () => {
    const { rt } = setup(upstream({ balancer: "least_conn", targets: urls(3) }));
    for (let k = 0; k < 5; k++) rt.onStart(0);
    for (let k = 0; k < 2; k++) rt.onStart(1);
    for (let k = 0; k < 20; k++) expect(rt.pick(ctx(), null)).toBe(2);
    rt.onStart(2);
    rt.onStart(2);
    rt.onStart(2);
    // Now 5, 2, 3.
    expect(rt.pick(ctx(), null)).toBe(1);
  });

  test("in-flight counts are shared: another worker's requests steer this one", () => {
    const config = upstream({ balancer: "least_conn", targets: urls(2) });
    const { rt: workerA, view } = setup(config);
    const workerB = createUpstreamRuntime(config, view, 0);
    for (let k = 0; k < 3; k++) workerB.onStart(0);
    expect(countPicks(workerA, 50)).toEqual([0, 50]);
    for (let k = 0; k < 3; k++) workerB.onEnd(0, false, 1);
    workerB.onStart(1);
    expect(countPicks(workerA, 50)).toEqual([50, 0]);
  });

  test("a closed loop keeps the load even under skew", () => {
    const { rt } = setup(upstream({ balancer: "least_conn", targets: urls(3) }));
    // Target 0 holds 10 long requests; new short ones go elsewhere until it drains.
    for (let k = 0; k < 10; k++) rt.onStart(0);
    const open: number[] = [];
    for (let k = 0; k < 20; k++) {
      const i = rt.pick(ctx(), null);
      rt.onStart(i);
      open.push(i);
    }
    expect(open.filter((i) => i === 0).length).toBe(0);
    expect(Math.abs(open.filter((i) => i === 1).length - 10)).toBeLessThanOrEqual(1);
  });

  test("ties are broken round robin", () => {
    const { rt } = setup(upstream({ balancer: "least_conn", targets: urls(4) }));
    expect(countPicks(rt, 400)).toEqual([100, 100, 100, 100]);
    const c = ctx();
    const a = rt.pick(c, null);
    const b = rt.pick(c, null);
    expect(a).not.toBe(b);
  });

  test("weights scale the load (in flight / weight, as nginx)", () => {
    const { rt } = setup(upstream({ balancer: "least_conn", targets: [{ url: "http://a:1", weight: 3 }, "http://b:1"] }));
    // 2/3 < 1/1: the heavier target still wins with more in flight.
    rt.onStart(0);
    rt.onStart(0);
    rt.onStart(1);
    expect(rt.pick(ctx(), null)).toBe(0);
    rt.onStart(0);
    rt.onStart(0);
    // 4/3 > 1/1.
    expect(rt.pick(ctx(), null)).toBe(1);
  });
});
