import { expect, test } from "bun:test";
import { identityRefused, negotiateEncoding } from "../../src/edge/negotiate.ts";

const ALL = ["zstd", "br", "gzip"] as const;

test("RFC 9110 §12.5.3 negotiation", () => {
  expect(negotiateEncoding(null, ALL)).toBeNull();
  expect(negotiateEncoding("", ALL)).toBeNull();
  expect(negotiateEncoding("gzip", ALL)).toBe("gzip");
  expect(negotiateEncoding("GZIP", ALL)).toBe("gzip");
  expect(negotiateEncoding("gzip, deflate, br", ALL)).toBe("br");
  expect(negotiateEncoding("gzip;q=0.8, br;q=0.7", ALL)).toBe("gzip");
  expect(negotiateEncoding("br;q=0, *", ALL)).toBe("zstd");
  expect(negotiateEncoding("zstd;q=0, br;q=0, *;q=0.2", ALL)).toBe("gzip");
  expect(negotiateEncoding("*;q=0", ALL)).toBeNull();
  expect(negotiateEncoding("gzip; q=0.000", ALL)).toBeNull();
  expect(negotiateEncoding("gzip;q=bogus", ALL)).toBe("gzip");
  expect(negotiateEncoding("identity;q=1, gzip;q=0.5", ALL)).toBe("gzip");
  expect(negotiateEncoding("gzip, gzip;q=0", ALL)).toBe("gzip");
  expect(negotiateEncoding(" , ,gzip", ALL)).toBe("gzip");
  expect(negotiateEncoding("br, gzip", ["gzip"])).toBe("gzip");
  expect(negotiateEncoding("br", ["gzip"])).toBeNull();
});

test("identity refused (§12.5.3): identity;q=0, or *;q=0 without naming identity", () => {
  expect(identityRefused(null)).toBe(false);
  expect(identityRefused("")).toBe(false);
  expect(identityRefused("gzip")).toBe(false);
  expect(identityRefused("gzip, identity;q=0")).toBe(true);
  expect(identityRefused("IDENTITY; q=0.0")).toBe(true);
  expect(identityRefused("*;q=0")).toBe(true);
  expect(identityRefused("*;q=0, identity")).toBe(false);
  expect(identityRefused("*;q=0, identity;q=0.5")).toBe(false);
  expect(identityRefused("identity;q=0.1")).toBe(false);
  // Nothing acceptable: identity is still what goes out (negotiateEncoding says null), the field disregarded.
  expect(negotiateEncoding("identity;q=0", ALL)).toBeNull();
  expect(negotiateEncoding("gzip;q=0, identity;q=0", ALL)).toBeNull();
  expect(negotiateEncoding("br, identity;q=0", ALL)).toBe("br");
});
