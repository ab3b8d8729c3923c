// RFC 9111 §5.2: Cache-Control parsing, and §1.2.2 delta-seconds.
import { describe, expect, test } from "bun:test";
import { deltaSeconds, fieldNames, MAX_DELTA, parseCacheControl } from "../../src/cache/directives.ts";

describe("parseCacheControl", () => {
  test("names are case-insensitive, arguments kept", () => {
    const d = parseCacheControl("Max-Age=60, PUBLIC, s-maxage=120");
    expect(d.get("max-age")).toBe("60");
    expect(d.get("public")).toBe(true);
    expect(d.get("s-maxage")).toBe("120");
  });
  test("quoted strings keep their commas (no-cache=\"a, b\")", () => {
    const d = parseCacheControl('no-cache="set-cookie, x-a", max-age=5');
    expect(d.get("no-cache")).toBe("set-cookie, x-a");
    expect(fieldNames(d.get("no-cache"))).toEqual(["set-cookie", "x-a"]);
    expect(d.get("max-age")).toBe("5");
  });
  test("quoted-pair is unescaped", () => {
    expect(parseCacheControl('x="a\\"b"').get("x")).toBe('a"b');
  });
  test("the first of a repeated directive counts (§4.2.1)", () => {
    expect(parseCacheControl("max-age=10, max-age=20").get("max-age")).toBe("10");
  });
  test("empty members and whitespace are ignored", () => {
    const d = parseCacheControl(" , ,no-store ,\t");
    expect([...d.keys()]).toEqual(["no-store"]);
  });
  test("absent or empty field: no directives", () => {
    expect(parseCacheControl(null).size).toBe(0);
    expect(parseCacheControl("").size).toBe(0);
  });
});

describe("deltaSeconds (§1.2.2)", () => {
  test("digits only", () => {
    expect(deltaSeconds("0")).toBe(0);
    expect(deltaSeconds("3600")).toBe(3600);
    expect(deltaSeconds("-1")).toBeNaN();
    expect(deltaSeconds("1.5")).toBeNaN();
    expect(deltaSeconds("abc")).toBeNaN();
    expect(deltaSeconds(true)).toBeNaN();
    expect(deltaSeconds(undefined)).toBeNaN();
  });
  test("overflow is clamped to 2^31", () => {
    expect(deltaSeconds("99999999999999999999")).toBe(MAX_DELTA);
  });
  test("a quoted value is accepted (recipients may)", () => {
    expect(deltaSeconds(parseCacheControl('max-age="60"').get("max-age"))).toBe(60);
  });
});
