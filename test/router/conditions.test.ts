import { describe, expect, test } from "bun:test";
import { conditionCount, conditionsHold, conditionsKey, variantKey, type RouteConditions } from "../../src/router/conditions.ts";

const view = (headers: Record<string, string>, query: Record<string, string> = {}) => ({
  header: (n: string) => headers[n] ?? null,
  query: (n: string) => query[n] ?? null,
});

describe("route conditions", () => {
  const c: RouteConditions = {
    headers: [
      { kind: "values", name: "accept-version", values: ["2", "2.0"] },
      { kind: "present", name: "x-canary" },
      { kind: "absent", name: "x-legacy" },
    ],
    query: [{ kind: "values", name: "v", values: ["b"] }],
  };

  test("all must hold", () => {
    expect(conditionsHold(c, view({ "accept-version": " 2.0 ", "x-canary": "" }, { v: "b" }))).toBe(true);
    expect(conditionsHold(c, view({ "accept-version": "3", "x-canary": "" }, { v: "b" }))).toBe(false);
    expect(conditionsHold(c, view({ "accept-version": "2" }, { v: "b" }))).toBe(false);
    expect(conditionsHold(c, view({ "accept-version": "2", "x-canary": "1", "x-legacy": "1" }, { v: "b" }))).toBe(false);
    expect(conditionsHold(c, view({ "accept-version": "2", "x-canary": "1" }))).toBe(false);
  });

  test("count and keys", () => {
    expect(conditionCount(c)).toBe(4);
    expect(conditionCount(null)).toBe(0);
    const reordered: RouteConditions = { headers: [...c.headers].reverse(), query: c.query };
    expect(conditionsKey(reordered)).toBe(conditionsKey(c));
    expect(conditionsKey(null)).toBe("");
    expect(variantKey({ hosts: ["B.example", "a.example"], methods: ["POST", "GET"], path: "/x" })).toBe(variantKey({ hosts: ["a.example", "b.example"], methods: ["GET", "POST"], path: "/x" }));
  });
});
