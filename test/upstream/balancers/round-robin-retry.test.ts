import { expect, test } from "bun:test";
import { ctx, setup, upstream, urls } from "../helpers.ts";

// Regression: a retry over fewer candidates reset the rotation to its position in the shorter
// list, so the next first try landed on the failed target again and again.
test("retries over fewer candidates do not skew first tries back to the failed target", () => {
  const { rt } = setup(upstream({ targets: urls(3) }));
  const first = [0, 0, 0];
  for (let n = 0; n < 300; n++) {
    const i = rt.pick(ctx(), null);
    first[i]!++;
    if (i === 0) rt.pick(ctx(), [0]); // target 0 fails; the retry picks among the others
  }
  expect(first).toEqual([100, 100, 100]);
});
