import { describe, expect, test } from "bun:test";
import { countPicks, ctx, setup, upstream } from "../helpers.ts";

const weighted = (weights: number[]) =>
  setup(upstream({ balancer: "weighted", targets: weights.map((weight, i) => ({ url: `http://127.0.0.1:${3001 + i}`, weight })) }));

describe("weighted (smooth weighted round robin)", () => {
  test("weights 5,1,1 interleave as nginx does: a a b a c a a, repeating", () => {
    const { rt } = weighted([5, 1, 1]);
    const c = ctx();
    const seq = Array.from({ length: 21 }, () => "abc"[rt.pick(c, null)]).join("");
    expect(seq).toBe("aabacaa".repeat(3));
  });

  test("counts follow the weights exactly over whole periods", () => {
    expect(countPicks(weighted([5, 1, 1]).rt, 700)).toEqual([500, 100, 100]);
    expect(countPicks(weighted([3, 2, 1]).rt, 600)).toEqual([300, 200, 100]);
    expect(countPicks(weighted([1, 1, 1, 1]).rt, 400)).toEqual([100, 100, 100, 100]);
  });

  test("fractional weights are honoured", () => {
    expect(countPicks(weighted([0.5, 1.5]).rt, 400)).toEqual([100, 300]);
  });

  test("a down target's share goes to the others in their own ratio", () => {
    const { rt, view } = weighted([4, 2, 1]);
    view.setHealth(0, 0, false);
    expect(countPicks(rt, 300)).toEqual([0, 200, 100]);
  });
});
