// RFC 9111 §4.2.1 (lifetime), §4.2.2 (heuristics), §4.2.3 (age); Surrogate-Control max-age (surrogate.ts).
import { describe, expect, test } from "bun:test";
import { formatHttpDate } from "../../src/cache/dates.ts";
import { parseCacheControl } from "../../src/cache/directives.ts";
import { ageValue, correctedInitialAge, currentAge, freshnessLifetime, HEURISTIC_MAX_MS, type LifetimeInput } from "../../src/cache/freshness.ts";
import { surrogateDirectives } from "../../src/cache/surrogate.ts";

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const at = (s: number) => formatHttpDate(NOW + s * 1000);
type Over = Partial<Omit<LifetimeInput, "cc" | "surrogate">> & { cc?: string; sc?: string };
const life = ({ cc, sc, ...over }: Over = {}) =>
  freshnessLifetime({
    status: 200,
    date: at(0),
    expires: null,
    lastModified: null,
    responseTime: NOW,
    routeTtl: 0,
    ...over,
    cc: parseCacheControl(cc ?? null),
    surrogate: surrogateDirectives(sc ?? null),
  });

describe("§4.2.1 freshness lifetime", () => {
  test("s-maxage over max-age over Expires", () => {
    expect(life({ cc: "max-age=10, s-maxage=20", expires: at(30) })).toEqual({ ms: 20_000, source: "s-maxage" });
    expect(life({ cc: "max-age=10", expires: at(30) })).toEqual({ ms: 10_000, source: "max-age" });
    expect(life({ expires: at(30) })).toEqual({ ms: 30_000, source: "expires" });
  });
  test("Expires is relative to the origin's Date: a skewed origin clock does not matter", () => {
    // origin clock one hour behind: Date and Expires both an hour early
    expect(life({ date: at(-3600), expires: at(-3600 + 60) }).ms).toBe(60_000);
  });
  test("Expires without a Date: relative to the response time", () => {
    expect(life({ date: null, expires: at(45) }).ms).toBe(45_000);
  });
  test("an invalid Expires (\"0\", garbage) means already expired (§5.3)", () => {
    expect(life({ expires: "0" }).ms).toBe(0);
    expect(life({ expires: "yesterday" }).ms).toBe(0);
  });
  test("an invalid max-age means stale, not fresh forever", () => {
    expect(life({ cc: "max-age=abc" }).ms).toBe(0);
    expect(life({ cc: "max-age=-5", expires: at(100) }).ms).toBe(0);
  });
  test("the route ttl applies only without explicit expiration", () => {
    expect(life({ routeTtl: 5000 })).toEqual({ ms: 5000, source: "ttl" });
    expect(life({ routeTtl: 5000, cc: "max-age=1" }).ms).toBe(1000);
    expect(life({ routeTtl: 5000, cc: "max-age=0" }).ms).toBe(0);
  });
});

describe("Surrogate-Control max-age (the extension of surrogate.ts)", () => {
  test("regression (http-cache-tests surrogate-max-age-long-cc-max-age, -0-expires): it outranks s-maxage, max-age and Expires", () => {
    expect(life({ cc: "max-age=3600", sc: "max-age=1" })).toEqual({ ms: 1000, source: "surrogate-control" });
    expect(life({ cc: "max-age=1, s-maxage=5", sc: "max-age=3600" }).ms).toBe(3_600_000);
    expect(life({ expires: at(10_000), sc: "max-age=0" }).ms).toBe(0);
    expect(life({ expires: at(-10_000), sc: "max-age=3600" }).ms).toBe(3_600_000);
    expect(life({ expires: "0", sc: "max-age=3600" }).ms).toBe(3_600_000);
  });
  test("aimed at another surrogate, or invalid: Cache-Control decides", () => {
    expect(life({ cc: "max-age=10", sc: "max-age=3600;cdn" })).toEqual({ ms: 10_000, source: "max-age" });
    expect(life({ cc: "max-age=10", sc: "max-age=soon" })).toEqual({ ms: 10_000, source: "max-age" });
  });
});

describe("§4.2.2 heuristic freshness", () => {
  test("10% of Date − Last-Modified", () => {
    expect(life({ lastModified: at(-1000) })).toEqual({ ms: 100_000, source: "heuristic" });
  });
  test("capped at a day", () => {
    expect(life({ lastModified: at(-3600 * 24 * 365) }).ms).toBe(HEURISTIC_MAX_MS);
  });
  test("only for heuristically cacheable statuses", () => {
    expect(life({ status: 302, lastModified: at(-1000) }).ms).toBe(0);
    expect(life({ status: 404, lastModified: at(-1000) }).ms).toBe(100_000);
  });
  test("regression (http-cache-tests heuristic-599-cached): and for public responses of any status (§5.2.2.9)", () => {
    expect(life({ status: 599, cc: "public", lastModified: at(-1000) })).toEqual({ ms: 100_000, source: "heuristic" });
    expect(life({ status: 302, cc: "public", lastModified: at(-1000) }).ms).toBe(100_000);
    expect(life({ status: 599, lastModified: at(-1000) }).ms).toBe(0);
  });
  test("a Last-Modified in the future gives nothing", () => {
    expect(life({ lastModified: at(100) }).ms).toBe(0);
  });
});

describe("§4.2.3 age", () => {
  test("Age field: first valid delta-seconds, invalid ignored", () => {
    expect(ageValue("30")).toBe(30);
    expect(ageValue("30, 40")).toBe(30);
    expect(ageValue("-3")).toBe(0);
    expect(ageValue("abc")).toBe(0);
    expect(ageValue(null)).toBe(0);
  });
  test("corrected_initial_age = max(apparent_age, age_value + response_delay)", () => {
    // Date 10 s before receipt, no Age: apparent age 10 s
    expect(correctedInitialAge(at(-10), null, NOW - 1000, NOW)).toBe(10_000);
    // Age: 30 from an upstream cache plus 1 s delay wins over the apparent 10 s
    expect(correctedInitialAge(at(-10), "30", NOW - 1000, NOW)).toBe(31_000);
    // origin clock ahead: apparent age is 0, not negative
    expect(correctedInitialAge(at(60), null, NOW, NOW)).toBe(0);
  });
  test("current_age adds resident time", () => {
    expect(currentAge(5000, NOW, NOW + 7000)).toBe(12_000);
  });
});
