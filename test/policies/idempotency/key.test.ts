import { describe, expect, test } from "bun:test";
import { parseIdempotencyKey } from "../../../src/policies/idempotency/key";

describe("parseIdempotencyKey (RFC 9651 sf-string item)", () => {
  test("accepts a quoted string", () => {
    expect(parseIdempotencyKey('"8e03978e-40d5-43e8-bc93-6894a57f9324"')).toBe("8e03978e-40d5-43e8-bc93-6894a57f9324");
  });
  test("unescapes \\\" and \\\\ and trims SP", () => {
    expect(parseIdempotencyKey('  "a\\"b\\\\c"  ')).toBe('a"b\\c');
  });
  test("ignores parameters", () => {
    expect(parseIdempotencyKey('"k1";x=1')).toBe("k1");
  });
  test("rejects absent, bare tokens, bad escapes, unterminated, trailing junk, empty, too long, non-ASCII", () => {
    for (const bad of [null, "abc", '"a\\nb"', '"abc', '"a" b', '""', `"${"x".repeat(256)}"`, '"é"', '"a\tb"', ""]) {
      expect(parseIdempotencyKey(bad)).toBeNull();
    }
  });
});
