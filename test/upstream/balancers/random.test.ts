import { describe, expect, test } from "bun:test";
import { countPicks, setup, upstream, urls } from "../helpers.ts";

describe("random (weighted)", () => {
  test("uniform weights: about even", () => {
    const counts = countPicks(setup(upstream({ balancer: "random", targets: urls(4) })).rt, 8000);
    for (const n of counts) expect(Math.abs(n / 8000 - 0.25)).toBeLessThan(0.04);
  });

  test("weights 3:1 give about 75 % / 25 %", () => {
    const { rt } = setup(upstream({ balancer: "random", targets: [{ url: "http://a:1", weight: 3 }, "http://b:1"] }));
    const counts = countPicks(rt, 8000);
    expect(Math.abs(counts[0]! / 8000 - 0.75)).toBeLessThan(0.03);
  });

  test("weights are renormalised over the usable targets", () => {
    const { rt, view } = setup(
      upstream({ balancer: "random", targets: [{ url: "http://a:1", weight: 6 }, { url: "http://b:1", weight: 3 }, "http://c:1"] }),
    );
    view.setHealth(0, 0, false);
    const counts = countPicks(rt, 8000);
    expect(counts[0]).toBe(0);
    expect(Math.abs(counts[1]! / 8000 - 0.75)).toBeLessThan(0.03);
  });
});
