// RFC 9111 §3 (storing responses), §3.5 (Authorization), §5.2 directives.
import { describe, expect, test } from "bun:test";
import { parseCacheControl } from "../../src/cache/directives.ts";
import { notStorableReason, type StorabilityInput } from "../../src/cache/storable.ts";

type Over = Partial<Omit<StorabilityInput, "requestCC" | "responseCC">> & { cc?: string; reqCC?: string };
const base = ({ cc, reqCC, ...over }: Over = {}): StorabilityInput => ({
  method: "GET",
  authorization: false,
  requestCC: parseCacheControl(reqCC ?? null),
  status: 200,
  responseCC: parseCacheControl(cc ?? "max-age=60"),
  hasExpires: false,
  routeTtl: false,
  ...over,
});

describe("§3 storability", () => {
  test("a GET 200 with max-age is stored", () => expect(notStorableReason(base())).toBeNull());
  test("only GET is stored (POST, HEAD, PUT are not)", () => {
    for (const m of ["POST", "HEAD", "PUT", "DELETE", "PATCH"]) expect(notStorableReason(base({ method: m }))).toBe("method");
  });
  test("1xx, 206 and 304 are not stored; unknown statuses are not either", () => {
    for (const s of [100, 101, 206, 304, 299, 599]) expect(notStorableReason(base({ status: s }))).toBe("status");
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
