// Surrogate-Control (W3C Edge Architecture 1.0 §2.2, §2.3): which directives apply to this cache.
import { describe, expect, test } from "bun:test";
import { DEVICE_TOKEN, hasSurrogateMaxAge, SURROGATE_CAPABILITY, surrogateDirectives, surrogateMaxAge } from "../../src/cache/surrogate.ts";

const sc = (v: string) => Object.fromEntries(surrogateDirectives(v));

describe("Surrogate-Control targeting", () => {
  test("untargeted directives apply to every surrogate; names are case-insensitive; extensions are kept", () => {
    expect(sc("max-age=3600")).toEqual({ "max-age": "3600" });
    expect(sc("MaX-aGe=3600")).toEqual({ "max-age": "3600" });
    expect(sc("foobar, max-age=3600, no-store")).toEqual({ foobar: true, "max-age": "3600", "no-store": true });
  });
  test("a directive aimed at this cache applies; one aimed at another device does not", () => {
    expect(DEVICE_TOKEN).toBe("gateway");
    expect(sc("max-age=3600;gateway")).toEqual({ "max-age": "3600" });
    expect(sc("max-age=3600;not-for-you")).toEqual({});
    expect(sc("no-store;cdn, max-age=60")).toEqual({ "max-age": "60" });
    // an empty device token addresses no one in particular: every surrogate
    expect(sc("max-age=60;")).toEqual({ "max-age": "60" });
  });
  test("aimed at this cache outranks addressed to every surrogate, in either order", () => {
    expect(sc("max-age=10, max-age=99;gateway")).toEqual({ "max-age": "99" });
    expect(sc("max-age=99;gateway, max-age=10")).toEqual({ "max-age": "99" });
  });
  test("quoted arguments keep their commas and semicolons", () => {
    expect(sc('content="ESI/1.0, X;1";gateway, max-age=5')).toEqual({ content: "ESI/1.0, X;1", "max-age": "5" });
  });
  test("an empty or absent field has no directives", () => {
    expect(surrogateDirectives(null).size).toBe(0);
    expect(surrogateDirectives("").size).toBe(0);
    expect(surrogateDirectives(" , ;gateway").size).toBe(0);
  });
});

describe("Surrogate-Control max-age", () => {
  const age = (v: string) => surrogateMaxAge(surrogateDirectives(v));
  test("N of max-age=N[+M]; delta-seconds clamped to 2^31 (RFC 9111 §1.2.2)", () => {
    expect(age("max-age=3600")).toBe(3600);
    expect(age("max-age=3600+600")).toBe(3600);
    expect(age("max-age=0")).toBe(0);
    expect(age("max-age=99999999999")).toBe(2147483648);
  });
  test("absent or invalid: NaN, and it grants nothing", () => {
    for (const v of ["no-store", "max-age", "max-age=abc", "max-age=-1", "max-age=1.5"]) {
      expect(age(v)).toBeNaN();
      expect(hasSurrogateMaxAge(surrogateDirectives(v))).toBe(false);
    }
  });
  test("the capability this cache advertises names its device token", () => {
    expect(SURROGATE_CAPABILITY).toBe('gateway="Surrogate/1.0"');
  });
});
