// RFC 9111 §3 (storing responses), §3.5 (Authorization), §5.2 directives; Surrogate-Control (surrogate.ts).
import { describe, expect, test } from "bun:test";
import { parseCacheControl } from "../../src/cache/directives.ts";
import { notStorableReason, type StorabilityInput } from "../../src/cache/storable.ts";
import { surrogateDirectives } from "../../src/cache/surrogate.ts";

type Over = Partial<Omit<StorabilityInput, "requestCC" | "responseCC" | "surrogate">> & { cc?: string; reqCC?: string; sc?: string };
const base = ({ cc, reqCC, sc, ...over }: Over = {}): StorabilityInput => ({
  method: "GET",
  authorization: false,
  requestCC: parseCacheControl(reqCC ?? null),
  status: 200,
  responseCC: parseCacheControl(cc ?? "max-age=60"),
  hasExpires: false,
  routeTtl: false,
  surrogate: surrogateDirectives(sc ?? null),
  ...over,
});

describe("§3 storability", () => {
  test("a GET 200 with max-age is stored", () => expect(notStorableReason(base())).toBeNull());
  test("only GET is stored (POST, HEAD, PUT are not)", () => {
    for (const m of ["POST", "HEAD", "PUT", "DELETE", "PATCH"]) expect(notStorableReason(base({ method: m }))).toBe("method");
  });
  test("1xx, 206, 304 and codes past 599 are not stored", () => {
    for (const s of [100, 101, 206, 304, 600]) expect(notStorableReason(base({ status: s }))).toBe("status");
  });
  test("regression (http-cache-tests status-299/499/599-fresh): any final status with explicit freshness is stored (§3)", () => {
    for (const s of [299, 401, 429, 499, 599]) expect(notStorableReason(base({ status: s }))).toBeNull();
    // not heuristically cacheable: without explicit freshness, not stored
    for (const s of [299, 499, 599]) expect(notStorableReason(base({ status: s, cc: "" }))).toBe("no-freshness");
  });
  test("regression (http-cache-tests status-599-must-understand): must-understand stores only understood statuses (§5.2.2.3)", () => {
    expect(notStorableReason(base({ status: 599, cc: "max-age=3600, must-understand" }))).toBe("must-understand");
    expect(notStorableReason(base({ status: 299, cc: "max-age=3600, must-understand" }))).toBe("must-understand");
    expect(notStorableReason(base({ status: 200, cc: "max-age=3600, must-understand" }))).toBeNull();
  });
  test("must-understand with an understood status overrides no-store (§5.2.2.3), not the request's no-store", () => {
    expect(notStorableReason(base({ cc: "max-age=60, must-understand, no-store" }))).toBeNull();
    expect(notStorableReason(base({ status: 599, cc: "max-age=60, must-understand, no-store" }))).toBe("must-understand");
    expect(notStorableReason(base({ cc: "max-age=60, must-understand, no-store", reqCC: "no-store" }))).toBe("no-store");
  });
  test("no-store in the response or the request (§5.2.2.5, §5.2.1.5)", () => {
    expect(notStorableReason(base({ cc: "no-store, max-age=60" }))).toBe("no-store");
    expect(notStorableReason(base({ reqCC: "no-store" }))).toBe("no-store");
  });
  test("private is never stored by a shared cache (§5.2.2.7), qualified or not", () => {
    expect(notStorableReason(base({ cc: "private, max-age=60" }))).toBe("private");
    expect(notStorableReason(base({ cc: 'private="x-user", max-age=60' }))).toBe("private");
  });
  test("§3.5: Authorization requests only with public, s-maxage or must-revalidate", () => {
    expect(notStorableReason(base({ authorization: true }))).toBe("authorization");
    expect(notStorableReason(base({ authorization: true, cc: "public, max-age=60" }))).toBeNull();
    expect(notStorableReason(base({ authorization: true, cc: "s-maxage=60" }))).toBeNull();
    expect(notStorableReason(base({ authorization: true, cc: "must-revalidate, max-age=60" }))).toBeNull();
  });
  test("without explicit freshness: heuristically cacheable statuses only", () => {
    expect(notStorableReason(base({ cc: "", status: 200 }))).toBeNull();
    expect(notStorableReason(base({ cc: "", status: 404 }))).toBeNull();
    expect(notStorableReason(base({ cc: "", status: 302 }))).toBe("no-freshness");
    expect(notStorableReason(base({ cc: "", status: 500 }))).toBe("no-freshness");
    expect(notStorableReason(base({ cc: "max-age=10", status: 500 }))).toBeNull();
    expect(notStorableReason(base({ cc: "", status: 302, hasExpires: true }))).toBeNull();
    expect(notStorableReason(base({ cc: "public", status: 302 }))).toBeNull();
  });
  test("no-cache responses are storable (revalidated on use)", () => {
    expect(notStorableReason(base({ cc: "no-cache", status: 302 }))).toBeNull();
  });
});

describe("Surrogate-Control (a cache extension, §3)", () => {
  test("regression (http-cache-tests surrogate-no-store-cc-fresh): its no-store wins over Cache-Control max-age and Expires", () => {
    expect(notStorableReason(base({ cc: "max-age=10000", hasExpires: true, sc: "no-store" }))).toBe("no-store");
    expect(notStorableReason(base({ cc: "max-age=10000", sc: "no-store;gateway" }))).toBe("no-store");
  });
  test("regression (http-cache-tests surrogate-fresh-cc-nostore): its max-age aimed at this cache stores despite Cache-Control no-store", () => {
    expect(notStorableReason(base({ cc: "no-store", sc: "max-age=10000;gateway" }))).toBeNull();
    expect(notStorableReason(base({ cc: "", status: 302, sc: "max-age=60" }))).toBeNull();
  });
  test("directives aimed at another surrogate change nothing", () => {
    expect(notStorableReason(base({ cc: "no-store", sc: "max-age=10000;cdn" }))).toBe("no-store");
    expect(notStorableReason(base({ sc: "no-store;cdn" }))).toBeNull();
  });
  test("it never widens the audience: private and §3.5 Authorization still hold", () => {
    expect(notStorableReason(base({ cc: "private", sc: "max-age=60" }))).toBe("private");
    expect(notStorableReason(base({ cc: "", authorization: true, sc: "max-age=60" }))).toBe("authorization");
  });
});
