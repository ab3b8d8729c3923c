import { describe, expect, test } from "bun:test";
import { compileKeyHash, hashCookie, hashQueryParam, hashString } from "../../../src/upstream/balancers/hash-key.ts";
import { ctx } from "../helpers.ts";

const h = hashString;

describe("hash keys", () => {
  test("cookie values are found wherever they sit in the header", () => {
    expect(hashCookie("sid=abc", "sid")).toBe(h("abc"));
    expect(hashCookie("a=1; sid=abc; b=2", "sid")).toBe(h("abc"));
    expect(hashCookie("a=1;sid=abc", "sid")).toBe(h("abc"));
    expect(hashCookie("a=1;  sid= abc ;b=2", "sid")).toBe(h("abc"));
  });

  test("cookie lookups do not match prefixes, suffixes or values", () => {
    expect(hashCookie("sidx=1; xsid=2", "sid")).toBe(-1);
    expect(hashCookie("a=sid=3", "sid")).toBe(-1);
    expect(hashCookie("sidx=1; sid=9", "sid")).toBe(h("9"));
  });

  test("missing or empty cookies are -1", () => {
    expect(hashCookie(null, "sid")).toBe(-1);
    expect(hashCookie("", "sid")).toBe(-1);
    expect(hashCookie("sid=", "sid")).toBe(-1);
    expect(hashCookie("sid=; a=1", "sid")).toBe(-1);
    expect(hashCookie("sid", "sid")).toBe(-1);
  });

  test("query parameters: first occurrence, raw value, exact name", () => {
    expect(hashQueryParam("?user=42", "user")).toBe(h("42"));
    expect(hashQueryParam("?a=1&user=42&b=2", "user")).toBe(h("42"));
    expect(hashQueryParam("?user=1&user=2", "user")).toBe(h("1"));
    expect(hashQueryParam("?user=a%20b", "user")).toBe(h("a%20b"));
    expect(hashQueryParam("?username=1&xuser=2", "user")).toBe(-1);
    expect(hashQueryParam("?user", "user")).toBe(-1);
    expect(hashQueryParam("?user=", "user")).toBe(-1);
    expect(hashQueryParam("", "user")).toBe(-1);
    expect(hashQueryParam("?a=user=1", "user")).toBe(-1);
  });

  test("compiled extractors read the right part of the request", () => {
    const c = ctx({ clientIp: "10.0.0.7", path: "/a/b", query: "?t=x", headers: { "X-Tenant": "acme", cookie: "s=1" } });
    expect(compileKeyHash("ip")(c)).toBe(h("10.0.0.7"));
    expect(compileKeyHash("path")(c)).toBe(h("/a/b"));
    expect(compileKeyHash("header:X-Tenant")(c)).toBe(h("acme"));
    expect(compileKeyHash("header:x-tenant")(c)).toBe(h("acme"));
    expect(compileKeyHash("header:x-missing")(c)).toBe(-1);
    expect(compileKeyHash("cookie:s")(c)).toBe(h("1"));
    expect(compileKeyHash("query:t")(c)).toBe(h("x"));
  });

  test("bad hash_key specs are refused with the reason", () => {
    expect(() => compileKeyHash("")).toThrow(/unknown hash key/);
    expect(() => compileKeyHash("host")).toThrow(/unknown hash key "host"/);
    expect(() => compileKeyHash("foo:bar")).toThrow(/unknown hash key/);
    expect(() => compileKeyHash("header:")).toThrow(/needs a name/);
    expect(() => compileKeyHash("cookie")).toThrow(/needs a name/);
    expect(() => compileKeyHash("query: ")).toThrow(/needs a name/);
  });

  test("the hash spreads near-identical keys", () => {
    const buckets = new Array<number>(16).fill(0);
    for (let k = 0; k < 16000; k++) buckets[h(`key${k}`) >>> 28]!++;
    for (const n of buckets) expect(Math.abs(n - 1000)).toBeLessThan(150);
  });
});
