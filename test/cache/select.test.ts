// RFC 9111 §4.2 (fresh/stale), §4.2.4 (serving stale), §5.2.1 (request directives), RFC 5861, RFC 9110 §13 (conditionals), §4.1 keys.
import { describe, expect, test } from "bun:test";
import { notModified } from "../../src/cache/conditional.ts";
import { formatHttpDate } from "../../src/cache/dates.ts";
import { makeEntry } from "../../src/cache/entry.ts";
import { normaliseField, primaryKey, secondaryKey, targetUri, uriPrefix } from "../../src/cache/keys.ts";
import { evaluate, requestDirectives, usableOnError } from "../../src/cache/select.ts";

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const OPTS = { ttl: 0, staleWhileRevalidate: 0, staleIfError: 0 };
const entry = (cc: string, extra: [string, string][] = []) => makeEntry(200, [["cache-control", cc], ["date", formatHttpDate(NOW)], ...extra], NOW, NOW, OPTS);
const rd = (cc: string | null, pragma: string | null = null) => requestDirectives(cc, pragma);
const use = (cc: string, after: number, req: string | null = null) => evaluate(entry(cc), NOW + after, rd(req)).use;

describe("fresh and stale", () => {
  test("fresh until the lifetime, then revalidate", () => {
    expect(use("max-age=10", 9_000)).toBe("fresh");
    expect(use("max-age=10", 10_000)).toBe("revalidate");
  });
  test("age and ttl are reported", () => {
    const v = evaluate(entry("max-age=10"), NOW + 4000, rd(null));
    expect([v.age, v.ttl]).toEqual([4000, 6000]);
  });
  test("no-cache: always revalidate (§5.2.2.4)", () => expect(use("no-cache, max-age=100", 0)).toBe("revalidate"));
});

describe("§5.2.1 request directives", () => {
  test("no-cache and Pragma: no-cache (§5.4) revalidate", () => {
    expect(use("max-age=100", 0, "no-cache")).toBe("revalidate");
    expect(evaluate(entry("max-age=100"), NOW, rd(null, "no-cache")).use).toBe("revalidate");
    // Pragma is ignored when Cache-Control is present
    expect(evaluate(entry("max-age=100"), NOW, rd("max-stale=1", "no-cache")).use).toBe("fresh");
  });
  test("max-age: older than that is not acceptable", () => {
    expect(use("max-age=100", 5000, "max-age=10")).toBe("fresh");
    expect(use("max-age=100", 11_000, "max-age=10")).toBe("revalidate");
    expect(use("max-age=100", 1, "max-age=0")).toBe("revalidate");
  });
  test("min-fresh: must stay fresh that long", () => {
    expect(use("max-age=100", 50_000, "min-fresh=40")).toBe("fresh");
    expect(use("max-age=100", 70_000, "min-fresh=40")).toBe("revalidate");
  });
  test("max-stale, with and without a value", () => {
    expect(use("max-age=10", 15_000, "max-stale=10")).toBe("stale-ok");
    expect(use("max-age=10", 25_000, "max-stale=10")).toBe("revalidate");
    expect(use("max-age=10", 1e9, "max-stale")).toBe("stale-ok");
  });
  test("must-revalidate, proxy-revalidate and s-maxage forbid stale even with max-stale (§4.2.4)", () => {
    for (const cc of ["max-age=10, must-revalidate", "max-age=10, proxy-revalidate", "s-maxage=10"]) expect(use(cc, 15_000, "max-stale")).toBe("revalidate");
  });
  test("only-if-cached and no-store are read", () => {
    expect(rd("only-if-cached").onlyIfCached).toBe(true);
    expect(rd("no-store").noStore).toBe(true);
  });
});

describe("RFC 5861", () => {
  test("stale-while-revalidate window", () => {
    expect(use("max-age=10, stale-while-revalidate=20", 25_000)).toBe("swr");
    expect(use("max-age=10, stale-while-revalidate=20", 31_000)).toBe("revalidate");
  });
  test("stale-if-error window; must-revalidate overrides it", () => {
    expect(usableOnError(entry("max-age=10, stale-if-error=60"), NOW + 50_000, rd(null))).toBe(true);
    expect(usableOnError(entry("max-age=10, stale-if-error=60"), NOW + 80_000, rd(null))).toBe(false);
    expect(usableOnError(entry("max-age=10, stale-if-error=60, must-revalidate"), NOW + 20_000, rd(null))).toBe(false);
  });
  test("§4.2.4: a no-cache response is never served unvalidated on an error, fresh or not, whatever the windows", () => {
    expect(usableOnError(entry("no-cache, max-age=10, stale-if-error=60"), NOW + 5_000, rd(null))).toBe(false);
    expect(usableOnError(entry("no-cache, max-age=10, stale-if-error=60"), NOW + 20_000, rd(null))).toBe(false);
    expect(usableOnError(entry("no-cache, max-age=10"), NOW + 20_000, rd("max-stale"))).toBe(false);
  });
});

describe("client conditionals against a stored response (RFC 9110 §13)", () => {
  const e = entry("max-age=60", [["etag", '"v1"'], ["last-modified", formatHttpDate(NOW - 60_000)]]);
  test("If-None-Match: weak comparison, lists and *", () => {
    expect(notModified(e, '"v1"', null)).toBe(true);
    expect(notModified(e, 'W/"v1"', null)).toBe(true);
    expect(notModified(e, '"x", "v1"', null)).toBe(true);
    expect(notModified(e, '"v2"', null)).toBe(false);
    expect(notModified(e, "*", null)).toBe(true);
  });
  test("If-Modified-Since only without If-None-Match", () => {
    expect(notModified(e, null, formatHttpDate(NOW))).toBe(true);
    expect(notModified(e, null, formatHttpDate(NOW - 120_000))).toBe(false);
    expect(notModified(e, '"v2"', formatHttpDate(NOW))).toBe(false);
    expect(notModified(e, null, "garbage")).toBe(false);
  });
  test("never for a non-2xx entry", () => {
    const nf = makeEntry(404, [["etag", '"v1"'], ["cache-control", "max-age=5"]], NOW, NOW, OPTS);
    expect(notModified(nf, '"v1"', null)).toBe(false);
  });
});

describe("§4.1 keys", () => {
  const p = primaryKey(targetUri("http", "API.example.com:8080", "/a", "?b=1"), "r");
  test("URI first, host lower-cased, route after NUL", () => {
    expect(p).toBe("http://api.example.com:8080/a?b=1\0r");
    expect(p.startsWith(uriPrefix("http://api.example.com:8080/a?b=1"))).toBe(true);
  });
  test("secondary keys normalise whitespace; Accept-Encoding order does not matter; absent differs from empty", () => {
    const get = (h: Record<string, string>) => (n: string) => h[n] ?? null;
    const k1 = secondaryKey(p, ["accept-encoding", "accept-language"], get({ "accept-encoding": "gzip, br", "accept-language": "en,  fr" }));
    const k2 = secondaryKey(p, ["accept-encoding", "accept-language"], get({ "accept-encoding": "BR,gzip", "accept-language": "en ,fr" }));
    expect(k1).toBe(k2);
    expect(secondaryKey(p, ["x"], get({}))).not.toBe(secondaryKey(p, ["x"], get({ x: "" })));
    expect(secondaryKey(p, ["accept-encoding"], get({ "accept-encoding": "gzip" }))).not.toBe(secondaryKey(p, ["accept-encoding"], get({})));
    expect(normaliseField("accept-language", "en-US")).toBe("en-US");
  });
});
