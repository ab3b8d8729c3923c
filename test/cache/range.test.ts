// RFC 9110 §14 (Range, Content-Range), §13.1.5 (If-Range): byte ranges of a stored complete response.
import { describe, expect, test } from "bun:test";
import { byteRange, contentRange, ifRangeHolds } from "../../src/cache/range.ts";

describe("byteRange: one range within the stored bytes", () => {
  test("regression (http-cache-tests partial-store-complete-reuse-partial*): first-last, first-, and suffix -N", () => {
    expect(byteRange("bytes=0-1", 11)).toEqual({ start: 0, end: 1 });
    expect(byteRange("bytes=1-", 11)).toEqual({ start: 1, end: 10 });
    expect(byteRange("bytes=-1", 11)).toEqual({ start: 10, end: 10 });
  });
  test("a last position past the end is cut to the end; a suffix longer than the content is all of it", () => {
    expect(byteRange("bytes=5-100", 11)).toEqual({ start: 5, end: 10 });
    expect(byteRange("bytes=-100", 11)).toEqual({ start: 0, end: 10 });
  });
  test("unit and spaces are case- and whitespace-tolerant", () => {
    expect(byteRange("Bytes = 2 - 3", 11)).toEqual({ start: 2, end: 3 });
  });
  test("what is not one satisfiable byte range gets the whole response (RFC 9110 §14.2: Range may be ignored)", () => {
    for (const r of [null, "bytes=0-1,3-4", "bytes=20-", "bytes=-0", "bytes=5-2", "bytes=-", "items=0-1", "bytes=a-b", "bytes=0-1;x"]) {
      expect(byteRange(r, 11)).toBeNull();
    }
    expect(byteRange("bytes=0-1", 0)).toBeNull();
  });
  test("Content-Range of the part", () => {
    expect(contentRange({ start: 1, end: 10 }, 11)).toBe("bytes 1-10/11");
  });
});

describe("If-Range", () => {
  const LM = "Wed, 01 Jan 2020 00:00:00 GMT";
  const DATE = "Thu, 02 Jan 2020 00:00:00 GMT";
  test("absent: the range applies", () => expect(ifRangeHolds(null, null, null, null)).toBe(true));
  test("an entity tag: the strong comparison with the stored ETag", () => {
    expect(ifRangeHolds('"a"', '"a"', null, null)).toBe(true);
    expect(ifRangeHolds('"b"', '"a"', null, null)).toBe(false);
    expect(ifRangeHolds('W/"a"', 'W/"a"', null, null)).toBe(false);
    expect(ifRangeHolds('"a"', 'W/"a"', null, null)).toBe(false);
    expect(ifRangeHolds('"a"', null, LM, DATE)).toBe(false);
  });
  test("a date: exactly the stored Last-Modified, and only a strong one (a second before Date)", () => {
    expect(ifRangeHolds(LM, null, LM, DATE)).toBe(true);
    expect(ifRangeHolds(DATE, null, LM, DATE)).toBe(false);
    expect(ifRangeHolds(LM, null, LM, LM)).toBe(false);
    expect(ifRangeHolds(LM, null, null, DATE)).toBe(false);
  });
});
