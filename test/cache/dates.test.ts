// RFC 9110 §5.6.7: the three HTTP-date forms; anything else is invalid.
import { describe, expect, test } from "bun:test";
import { formatHttpDate, parseHttpDate } from "../../src/cache/dates.ts";

const T = Date.UTC(1994, 10, 6, 8, 49, 37);

describe("parseHttpDate", () => {
  test("IMF-fixdate, RFC 850 and asctime (the RFC's examples)", () => {
    expect(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT")).toBe(T);
    expect(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT")).toBe(T);
    expect(parseHttpDate("Sun Nov  6 08:49:37 1994")).toBe(T);
  });
  test("invalid dates are NaN", () => {
    for (const bad of ["0", "-1", "tomorrow", "Sun, 06 Nov 1994 08:49:37", "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT", ""]) {
      expect(parseHttpDate(bad)).toBeNaN();
    }
    expect(parseHttpDate(null)).toBeNaN();
  });
  test("format round-trips", () => {
    expect(formatHttpDate(T)).toBe("Sun, 06 Nov 1994 08:49:37 GMT");
    expect(parseHttpDate(formatHttpDate(T))).toBe(T);
  });
});
