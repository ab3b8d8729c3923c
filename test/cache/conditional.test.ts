// RFC 9111 §4.3.2 (a client's conditionals against a stored response) and §4.3.4 (which stored response a 304 updates).
import { describe, expect, test } from "bun:test";
import { notModified, selectedForUpdate } from "../../src/cache/conditional.ts";
import { makeEntry } from "../../src/cache/entry.ts";

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const OPTS = { ttl: 0, staleWhileRevalidate: 0, staleIfError: 0 };
const LM = "Wed, 01 Jan 2020 00:00:00 GMT";
const stored = (...headers: [string, string][]) => makeEntry(200, [["cache-control", "max-age=2"], ...headers], NOW, NOW, OPTS);

describe("§4.3.4 a 304 updates the stored response its validators select", () => {
  test("regression (http-cache-tests 304-etag-update-response-ETag): a strong ETag other than the stored one selects nothing", () => {
    const e = stored(["etag", '"abcdef"']);
    expect(selectedForUpdate(e, '"abcdef"', null)).toBe(true);
    expect(selectedForUpdate(e, '"ghijkl"', null)).toBe(false);
  });
  test("strong ETags compare strongly, weak ones weakly (RFC 9110 §8.8.3.2)", () => {
    expect(selectedForUpdate(stored(["etag", 'W/"a"']), '"a"', null)).toBe(false);
    expect(selectedForUpdate(stored(["etag", 'W/"a"']), 'W/"a"', null)).toBe(true);
    expect(selectedForUpdate(stored(["etag", '"a"']), 'W/"a"', null)).toBe(true);
    expect(selectedForUpdate(stored(["etag", '"a"']), 'W/"b"', null)).toBe(false);
  });
  test("an ETag when the stored response has none selects nothing", () => {
    expect(selectedForUpdate(stored(["last-modified", LM]), '"a"', LM)).toBe(false);
  });
  test("without an ETag, a Last-Modified must be the stored one (as a date)", () => {
    const e = stored(["last-modified", LM]);
    expect(selectedForUpdate(e, null, LM)).toBe(true);
    expect(selectedForUpdate(e, null, "Wednesday, 01-Jan-20 00:00:00 GMT")).toBe(true);
    expect(selectedForUpdate(e, null, "Thu, 02 Jan 2020 00:00:00 GMT")).toBe(false);
    expect(selectedForUpdate(stored(), null, LM)).toBe(false);
  });
  test("a 304 with no validator updates the one stored response of its key", () => {
    expect(selectedForUpdate(stored(["etag", '"a"']), null, null)).toBe(true);
    expect(selectedForUpdate(stored(), null, null)).toBe(true);
  });
});

describe("§4.3.2 a client's conditionals", () => {
  test("If-None-Match by the weak comparison; If-Modified-Since only without it", () => {
    const e = stored(["etag", 'W/"a"'], ["last-modified", LM]);
    expect(notModified(e, '"a"', null)).toBe(true);
    expect(notModified(e, '"b", W/"a"', null)).toBe(true);
    expect(notModified(e, '"b"', LM)).toBe(false);
    expect(notModified(e, null, LM)).toBe(true);
    expect(notModified(e, null, "Tue, 31 Dec 2019 00:00:00 GMT")).toBe(false);
  });
});
