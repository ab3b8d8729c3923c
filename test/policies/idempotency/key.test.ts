import { describe, expect, test } from "bun:test";
import { keyProblem, parseIdempotencyKey } from "../../../src/policies/idempotency/key";

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
    for (const bad of [null, "abc", '"a\\nb"', '"abc', '"a" b', '""', `"${"x".repeat(256)}"`, '"é"', '"a\tb"', "", '\t"k"', '"k"\t', '"k""']) {
      expect(parseIdempotencyKey(bad)).toBeNull();
    }
  });
});

describe("Idempotency-Key parameters and reasons (RFC 9651 §4.2.3)", () => {
  test("well-formed parameters of every bare-item type are accepted and ignored", () => {
    for (const ok of ['"k";a', '"k";a=1', '"k"; a=-1.5', '"k";a=?0;b="x\\"y"', '"k";a=tok/en:x', '"k";a=:aGVsbG8=:', '"k";a=@1700000000', '"k";a=%"caf%c3%a9"', '"k";*x=1']) {
      expect(parseIdempotencyKey(ok)).toBe("k");
    }
  });
  test("malformed parameters make the whole field invalid", () => {
    for (const bad of ['"k";', '"k";A=1', '"k";a=', '"k";a=1.2345', '"k";a=?2', '"k";a="x', '"k";a=:@@:', '"k";1a', '"k";a=1;', '"k",  "j"', '"k";a=@1.5', '"k";a=%"%C3"']) {
      expect(parseIdempotencyKey(bad)).toBeNull();
    }
  });
  test("keyProblem names the problem", () => {
    expect(keyProblem("abc")).toContain("double quotes");
    expect(keyProblem('"abc')).toContain("unterminated");
    expect(keyProblem('"a\\nb"')).toContain("invalid escape");
    expect(keyProblem('""')).toBe("the key is empty");
    expect(keyProblem(`"${"x".repeat(256)}"`)).toContain("256 characters");
    expect(keyProblem('"é"')).toContain("printable ASCII");
    expect(keyProblem('"k" x')).toContain("after the string");
    expect(keyProblem('"k";A')).toContain("parameter name");
  });
  test("255 characters is the limit", () => {
    expect(parseIdempotencyKey(`"${"x".repeat(255)}"`)).toBe("x".repeat(255));
  });
});
