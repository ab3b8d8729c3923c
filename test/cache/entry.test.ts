// RFC 9111 §3.1 (fields not stored), §3.2 / §4.3.4 (304 updates), §4.1 (Vary), codec round trip.
import { describe, expect, test } from "bun:test";
import { decode, encodeEntry, encodeMarker } from "../../src/cache/codec.ts";
import { formatHttpDate } from "../../src/cache/dates.ts";
import { derive, FLAG_MUST_REVALIDATE, FLAG_NO_CACHE, headerOf, makeEntry, mergeNotModified, parseVary } from "../../src/cache/entry.ts";

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const OPTS = { ttl: 0, staleWhileRevalidate: 0, staleIfError: 0 };

describe("§3.1 stored fields", () => {
  test("hop-by-hop, Connection-named, Set-Cookie, RateLimit and Age are not stored", () => {
    const e = makeEntry(
      200,
      [
        ["Content-Type", "text/plain"],
        ["Connection", "x-hop"],
        ["X-Hop", "1"],
        ["Keep-Alive", "timeout=5"],
        ["Transfer-Encoding", "chunked"],
        ["Set-Cookie", "sid=secret"],
        ["RateLimit", "limit=10, remaining=3"],
        ["X-RateLimit-Remaining", "3"],
        ["Age", "4"],
        ["Cache-Control", "max-age=60"],
      ],
      NOW,
      NOW,
      OPTS,
    );
    expect(e.headers.map(([k]) => k)).toEqual(["content-type", "cache-control"]);
    // the Age it came with is in the initial age, not in the stored fields
    expect(e.initialAge).toBe(4000);
  });
  test("no-cache=\"field\" drops that field and does not force revalidation", () => {
    const e = makeEntry(200, [["cache-control", 'no-cache="x-secret", max-age=60'], ["x-secret", "1"], ["x-ok", "1"]], NOW, NOW, OPTS);
    expect(headerOf(e, "x-secret")).toBeNull();
    expect(headerOf(e, "x-ok")).toBe("1");
    expect(e.flags & FLAG_NO_CACHE).toBe(0);
    expect(e.lifetime).toBe(60_000);
  });
  test("flags: no-cache; must-revalidate, proxy-revalidate and s-maxage", () => {
    expect(makeEntry(200, [["cache-control", "no-cache"]], NOW, NOW, OPTS).flags).toBe(FLAG_NO_CACHE);
    for (const cc of ["must-revalidate", "proxy-revalidate", "s-maxage=5"]) expect(makeEntry(200, [["cache-control", cc]], NOW, NOW, OPTS).flags).toBe(FLAG_MUST_REVALIDATE);
  });
  test("RFC 5861 windows: the origin's directive, else the route's", () => {
    const origin = makeEntry(200, [["cache-control", "max-age=1, stale-while-revalidate=30, stale-if-error=600"]], NOW, NOW, OPTS);
    expect([origin.swr, origin.sie]).toEqual([30_000, 600_000]);
    const route = makeEntry(200, [["cache-control", "max-age=1"]], NOW, NOW, { ttl: 0, staleWhileRevalidate: 5000, staleIfError: 7000 });
    expect([route.swr, route.sie]).toEqual([5000, 7000]);
  });
  test("tags from Surrogate-Key (spaces) and Cache-Tag (commas)", () => {
    const e = makeEntry(200, [["surrogate-key", "user-1 users"], ["cache-tag", "users,page-2"]], NOW, NOW, OPTS);
    expect(e.tags).toEqual(["user-1", "users", "page-2"]);
  });
});

describe("§4.1 Vary", () => {
  test("names lower-cased, sorted, unique; * wins", () => {
    expect(parseVary("Accept-Encoding, accept-language,ACCEPT-ENCODING")).toEqual(["accept-encoding", "accept-language"]);
    expect(parseVary("accept, *")).toEqual(["*"]);
    expect(parseVary(null)).toEqual([]);
    expect(parseVary(" , ")).toEqual([]);
  });
});

describe("§3.2 / §4.3.4 updating from a 304", () => {
  test("new fields replace stored ones; Content-Length, hop-by-hop and Set-Cookie are not taken", () => {
    const e = makeEntry(200, [["etag", '"a"'], ["cache-control", "max-age=1"], ["content-length", "5"], ["x-keep", "1"]], NOW, NOW, OPTS);
    mergeNotModified(e, [["cache-control", "max-age=100"], ["content-length", "0"], ["set-cookie", "a=b"], ["x-new", "2"], ["connection", "close"]]);
    expect(headerOf(e, "cache-control")).toBe("max-age=100");
    expect(headerOf(e, "content-length")).toBe("5");
    expect(headerOf(e, "set-cookie")).toBeNull();
    expect(headerOf(e, "x-keep")).toBe("1");
    expect(headerOf(e, "x-new")).toBe("2");
  });
  test("regression (http-cache-tests 304-etag-update-response-Content-MD5): checksums of the stored content are not taken", () => {
    const e = makeEntry(200, [["etag", '"a"'], ["content-md5", "rL0Y20zC+Fzt72VPzMSk2A=="], ["content-digest", "sha-256=:old:"]], NOW, NOW, OPTS);
    mergeNotModified(e, [["content-md5", "N7UdGUp1E+RbVvZSTy1R8g=="], ["content-digest", "sha-256=:new:"], ["content-encoding", "gzip"], ["content-type", "a/b"]]);
    expect(headerOf(e, "content-md5")).toBe("rL0Y20zC+Fzt72VPzMSk2A==");
    expect(headerOf(e, "content-digest")).toBe("sha-256=:old:");
    expect(headerOf(e, "content-encoding")).toBeNull();
    expect(headerOf(e, "content-type")).toBe("a/b");
  });
});

describe("Surrogate-Control in a stored entry", () => {
  test("its max-age is the lifetime, and no-cache no longer forces revalidation; must-revalidate still holds", () => {
    const e = makeEntry(200, [["cache-control", "no-cache, must-revalidate"], ["surrogate-control", "max-age=60"]], NOW, NOW, OPTS);
    expect(e.lifetime).toBe(60_000);
    expect(e.flags).toBe(FLAG_MUST_REVALIDATE);
  });
  test("its RFC 5861 windows outrank Cache-Control's", () => {
    const e = makeEntry(200, [["cache-control", "max-age=1, stale-while-revalidate=5"], ["surrogate-control", "max-age=10, stale-while-revalidate=30, stale-if-error=90"]], NOW, NOW, OPTS);
    expect([e.lifetime, e.swr, e.sie]).toEqual([10_000, 30_000, 90_000]);
  });
  test("a 304's Surrogate-Control re-derives the lifetime", () => {
    const e = makeEntry(200, [["etag", '"a"'], ["surrogate-control", "max-age=1"]], NOW, NOW, OPTS);
    mergeNotModified(e, [["surrogate-control", "max-age=300"]]);
    derive(e, OPTS);
    expect(e.lifetime).toBe(300_000);
  });
});

describe("codec", () => {
  test("an entry round-trips", () => {
    const e = makeEntry(203, [["content-type", "a/b"], ["cache-control", "max-age=9"], ["vary", "Accept"], ["x-tab", "a\tb"], ["date", formatHttpDate(NOW)]], NOW - 5, NOW, OPTS);
    const back = decode(encodeEntry(e));
    expect(back).toEqual({ kind: "entry", entry: e });
  });
  test("a marker round-trips; foreign bytes are absent", () => {
    expect(decode(encodeMarker(["accept", "accept-encoding"]))).toEqual({ kind: "marker", vary: ["accept", "accept-encoding"] });
    expect(decode(new TextEncoder().encode("zz\0"))).toBeNull();
  });
});
