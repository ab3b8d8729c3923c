import { expect, test } from "bun:test";
import { DecodedMemo, MEMO_MAX_VALUE } from "../../src/cache/memo.ts";

test("DecodedMemo is bounded in entries and bytes, oldest first", () => {
  const m = new DecodedMemo<string>(3, 1000);
  for (let v = 1; v <= 5; v++) expect(m.set(v, `v${v}`, 10)).toBe(true);
  expect(m.size).toBe(3);
  expect(m.get(1)).toBeUndefined();
  expect(m.get(2)).toBeUndefined();
  expect(m.get(5)).toBe("v5");
  // bytes: one value of 900 pushes out what no longer fits
  expect(m.set(6, "big", 900)).toBe(true);
  expect(m.usedBytes).toBeLessThanOrEqual(1000);
  expect(m.get(6)).toBe("big");
  expect(m.get(3)).toBeUndefined();
  // too large to keep at all, and a version kept once stays as it is
  expect(m.set(7, "huge", 1001)).toBe(false);
  expect(m.set(6, "other", 1)).toBe(false);
  expect(m.get(6)).toBe("big");
});

test("DecodedMemo keeps no value over MEMO_MAX_VALUE and churns in constant time", () => {
  const m = new DecodedMemo<number>(1024, 64 * 1024 * 1024);
  expect(m.set(1, 1, MEMO_MAX_VALUE + 1)).toBe(false);
  const t0 = performance.now();
  for (let v = 2; v < 200_000; v++) m.set(v, v, 100);
  expect(m.size).toBe(1024);
  expect(m.get(199_999)).toBe(199_999);
  expect(performance.now() - t0).toBeLessThan(2000);
});
