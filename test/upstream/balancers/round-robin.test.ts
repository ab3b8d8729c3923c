import { describe, expect, test } from "bun:test";
import { countPicks, ctx, setup, upstream, urls } from "../helpers.ts";

describe("round_robin", () => {
  test("rotates through the targets in order", () => {
    const { rt } = setup(upstream({ targets: urls(3) }));
    const c = ctx();
    const first = rt.pick(c, null);
    for (let k = 1; k < 30; k++) expect(rt.pick(c, null)).toBe((first + k) % 3);
  });

  test("even counts, weights ignored", () => {
    const { rt } = setup(upstream({ targets: [{ url: "http://a:1", weight: 9 }, "http://b:1", "http://c:1"] }));
    expect(countPicks(rt, 300)).toEqual([100, 100, 100]);
  });

  test("keeps rotating over the remaining targets when one goes down", () => {
    const { rt, view } = setup(upstream({ targets: urls(4) }));
    view.setHealth(0, 2, false);
    expect(countPicks(rt, 300)).toEqual([100, 100, 0, 100]);
  });
});
