import { describe, expect, test } from "bun:test";
import {
  accepts,
  applyHeaderEdits,
  applyQueryEdits,
  codingOf,
  compileFieldEdits,
  decodeBody,
  encodeBody,
  queryValue,
  type EditProblem,
  type RawFieldEdits,
  type TemplateSource,
} from "../../src/transform/index.ts";

const src: TemplateSource = {
  param: (n) => (n === "id" ? "7" : undefined),
  claim: (n) => (n === "tenant" ? "acme\r\nx-admin: 1" : undefined),
  header: () => null,
  query: () => null,
  consumer: null,
  clientIp: "1.2.3.4",
  requestId: "rid",
};

function fields(raw: RawFieldEdits, kind: "header" | "query") {
  const problems: EditProblem[] = [];
  const e = compileFieldEdits(raw, kind, { params: ["id"] }, problems);
  expect(problems).toEqual([]);
  return e;
}

describe("header edits", () => {
  test("remove → rename → set → add, names case-insensitive, values header-safe", () => {
    const h = new Headers({ server: "x", "X-Old": "v", "x-keep": "k", "x-multi": "1" });
    applyHeaderEdits(
      h,
      fields({ remove: ["Server"], rename: { "x-old": "X-New" }, set: { "x-tenant": "{claim.tenant}", "x-id": "{id}" }, add: { "x-multi": "2" } }, "header"),
      src,
    );
    expect(h.get("server")).toBeNull();
    expect(h.get("x-old")).toBeNull();
    expect(h.get("x-new")).toBe("v");
    expect(h.get("x-tenant")).toBe("acmex-admin: 1");
    expect(h.get("x-admin")).toBeNull();
    expect(h.get("x-id")).toBe("7");
    expect(h.get("x-multi")).toBe("1, 2");
  });

  test("bad names are problems with their keys", () => {
    const problems: EditProblem[] = [];
    compileFieldEdits({ set: { "bad name": "x", ok: "{nope}" }, remove: ["a:b"], rename: { a: "b c" } }, "header", { params: [] }, problems);
    expect(problems).toEqual([
      { path: ["remove", 0], message: 'invalid header name "a:b"' },
      { path: ["rename", "a"], message: 'invalid header name "b c"' },
      { path: ["set", "bad name"], message: 'invalid header name "bad name"' },
      { path: ["set", "ok"], message: "{nope}: the route path has no param :nope" },
    ]);
  });
});

describe("query edits", () => {
  test("untouched pairs keep their bytes; set replaces, add appends, rename moves, remove drops", () => {
    const e = fields({ remove: ["debug"], rename: { q: "search" }, set: { page: "{id}" }, add: { tag: "a&b" } }, "query");
    expect(applyQueryEdits("?q=a%20b&debug=1&page=1&page=2&x=%7E", e, src)).toBe("?search=a%20b&x=%7E&page=7&tag=a%26b");
    expect(applyQueryEdits("", e, src)).toBe("?page=7&tag=a%26b");
    expect(applyQueryEdits("?debug", fields({ remove: ["debug"] }, "query"), src)).toBe("");
  });

  test("queryValue decodes the first value", () => {
    expect(queryValue("?a=1&b=x%20y&b=2", "b")).toBe("x y");
    expect(queryValue("?a+b=c+d", "a b")).toBe("c d");
    expect(queryValue("?flag", "flag")).toBe("");
    expect(queryValue("?a=%zz", "a")).toBe("%zz");
    expect(queryValue("", "a")).toBeNull();
  });
});

describe("content codings", () => {
  const json = new TextEncoder().encode(JSON.stringify({ a: "x".repeat(1000) }));
  for (const c of ["gzip", "deflate", "br", "zstd"] as const) {
    test(`${c} round trip, bounded`, () => {
      const enc = encodeBody(json, c);
      expect(codingOf(c)).toBe(c);
      expect(decodeBody(enc, c, 1 << 20)).toEqual(json);
      // A body that inflates past the cap is not decoded (a zip bomb stays a small problem).
      expect(decodeBody(enc, c, 100)).toBeNull();
      expect(decodeBody(new Uint8Array([1, 2, 3]), c, 1 << 20)).toBeNull();
    });
  }

  test("codingOf: several codings or unknown ones are not touched", () => {
    expect(codingOf(null)).toBe("identity");
    expect(codingOf("GZIP")).toBe("gzip");
    expect(codingOf("gzip, br")).toBeNull();
    expect(codingOf("compress")).toBeNull();
  });

  test("Accept-Encoding (RFC 9110 §12.5.3)", () => {
    expect(accepts("gzip, br", "br")).toBe(true);
    expect(accepts("gzip;q=0, *", "gzip")).toBe(false);
    expect(accepts("*;q=0.5", "zstd")).toBe(true);
    expect(accepts("identity", "gzip")).toBe(false);
    expect(accepts(null, "gzip")).toBe(false);
    expect(accepts("x-gzip", "gzip")).toBe(true);
  });
});
