import { describe, expect, test } from "bun:test";
import {
  BODY_CHUNKED,
  BODY_LENGTH,
  BODY_NONE,
  BODY_UNTIL_CLOSE,
  bodyKindOf,
  mayReuse,
  parseResponseHead,
  type ResponseHead,
} from "../../../src/client/http1/response-head.ts";

function ok(s: string): ResponseHead {
  const h = parseResponseHead(s);
  if (typeof h === "string") throw new Error(`unexpected parse error: ${h}`);
  return h;
}

describe("status line (RFC 9112 §4)", () => {
  test("status, reason and version", () => {
    const h = ok("HTTP/1.1 404 Not Found\r\n\r\n");
    expect(h.status).toBe(404);
    expect(h.statusText).toBe("Not Found");
    expect(h.minor).toBe(1);
    expect(ok("HTTP/1.0 200 OK\r\n\r\n").minor).toBe(0);
  });

  test("empty or missing reason phrase", () => {
    expect(ok("HTTP/1.1 200 \r\n\r\n").statusText).toBe("");
    expect(ok("HTTP/1.1 200\r\n\r\n").statusText).toBe("");
  });

  test.each([
    ["HTTP/2 200 OK\r\n\r\n"],
    ["HTTP/1.1 20 OK\r\n\r\n"],
    ["HTTP/1.1 2000 OK\r\n\r\n"],
    ["HTTP/1.1 099 X\r\n\r\n"],
    ["http/1.1 200 OK\r\n\r\n"],
    ["HTTP/1.1  200 OK\r\n\r\n"],
    ["ICY 200 OK\r\n\r\n"],
    ["HTTP/1.1 200 O\nK\r\n\r\n"],
  ])("rejects %j", (s) => {
    expect(parseResponseHead(s)).toBe("bad status line");
  });

  test("rejects a status above 599", () => {
    expect(typeof parseResponseHead("HTTP/1.1 600 X\r\n\r\n")).toBe("string");
  });
});

describe("field lines (RFC 9112 §5)", () => {
  test("names as received, values trimmed of OWS, order and duplicates kept", () => {
    const h = ok("HTTP/1.1 200 OK\r\nX-A:  one \r\nset-cookie: a=1\r\nSet-Cookie: b=2\r\nEmpty:\r\nTab:\tv\t\r\n\r\n");
    expect(h.headers).toEqual([
      ["X-A", "one"],
      ["set-cookie", "a=1"],
      ["Set-Cookie", "b=2"],
      ["Empty", ""],
      ["Tab", "v"],
    ]);
  });

  test("latin1 octets pass through one char per byte", () => {
    const h = ok("HTTP/1.1 200 OK\r\nx: caf\xe9\r\n\r\n");
    expect(h.headers[0]![1]).toBe("caf\u00e9");
  });

  test.each([
    ["whitespace before the colon", "HTTP/1.1 200 OK\r\nX-A : v\r\n\r\n"],
    ["obs-fold", "HTTP/1.1 200 OK\r\nX-A: v\r\n  more\r\n\r\n"],
    ["no colon", "HTTP/1.1 200 OK\r\nX-A v\r\n\r\n"],
    ["empty name", "HTTP/1.1 200 OK\r\n: v\r\n\r\n"],
    ["bare LF inside a value", "HTTP/1.1 200 OK\r\nX-A: a\nb\r\n\r\n"],
    ["bare CR inside a value", "HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n"],
    ["NUL in a value", "HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n"],
    ["separator in a name", "HTTP/1.1 200 OK\r\nX(A): v\r\n\r\n"],
    ["LF-only line ends", "HTTP/1.1 200 OK\nX-A: v\n\n"],
  ])("rejects %s", (_why, s) => {
    expect(parseResponseHead(s)).toBe(s.startsWith("HTTP/1.1 200 OK\r\n") ? "bad header line" : "bad status line");
  });
});

describe("Content-Length (RFC 9110 §8.6)", () => {
  test("a value, a list of identical values, repeated identical fields", () => {
    expect(ok("HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n").contentLength).toBe(42);
    expect(ok("HTTP/1.1 200 OK\r\ncontent-length: 7, 7 ,7\r\n\r\n").contentLength).toBe(7);
    expect(ok("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nCONTENT-LENGTH: 5\r\n\r\n").contentLength).toBe(5);
    expect(ok("HTTP/1.1 200 OK\r\n\r\n").contentLength).toBe(-1);
  });

  test.each([
    ["differing list", "5, 6"],
    ["sign", "+5"],
    ["negative", "-1"],
    ["hex", "0x10"],
    ["empty", ""],
    ["letters", "12abc"],
    ["inner space", "1 2"],
    ["trailing comma", "5,"],
    ["over 2^53", "9007199254740993"],
  ])("rejects %s", (_why, v) => {
    expect(parseResponseHead(`HTTP/1.1 200 OK\r\nContent-Length: ${v}\r\n\r\n`)).toBe("invalid content-length");
  });

  test("rejects conflicting fields", () => {
    expect(parseResponseHead("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n")).toBe("invalid content-length");
  });

  test("rejects Transfer-Encoding with Content-Length, whatever the coding (§6.3 rule 3: ought to be an error)", () => {
    const both = "both transfer-encoding and content-length";
    expect(parseResponseHead("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")).toBe(both);
    expect(parseResponseHead("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n")).toBe(both);
    expect(parseResponseHead("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n")).toBe("unsupported transfer coding");
  });
});

describe("framing (RFC 9112 §6.3)", () => {
  const kind = (s: string, head = false) => bodyKindOf(ok(s), head);

  test("HEAD, 1xx, 204, 304 never have a body, whatever the fields say", () => {
    expect(kind("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", true)).toBe(BODY_NONE);
    expect(kind("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n")).toBe(BODY_NONE);
    expect(kind("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n")).toBe(BODY_NONE);
    expect(kind("HTTP/1.1 103 Early Hints\r\nContent-Length: 10\r\n\r\n")).toBe(BODY_NONE);
  });

  test("chunked, alone, in any case", () => {
    expect(kind("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")).toBe(BODY_CHUNKED);
    expect(kind("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n")).toBe(BODY_CHUNKED);
    expect(kind("HTTP/1.1 200 OK\r\nTransfer-Encoding: , chunked ,\r\n\r\n")).toBe(BODY_CHUNKED);
  });

  test("any other coding is refused: it could not be forwarded without its (hop-by-hop) label", () => {
    for (const te of ["gzip, Chunked", "chunked, gzip", "xchunked", "chunked, chunked", "gzip", ""]) {
      expect(parseResponseHead(`HTTP/1.1 200 OK\r\nTransfer-Encoding: ${te}\r\n\r\n`)).toBe("unsupported transfer coding");
    }
    expect(parseResponseHead("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n")).toBe("unsupported transfer coding");
    expect(parseResponseHead("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n")).toBe("unsupported transfer coding");
  });

  test("Content-Length, zero, or until close", () => {
    expect(kind("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n")).toBe(BODY_LENGTH);
    expect(kind("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")).toBe(BODY_NONE);
    expect(kind("HTTP/1.1 200 OK\r\n\r\n")).toBe(BODY_UNTIL_CLOSE);
  });
});

describe("connection reuse (RFC 9112 §9.3)", () => {
  const reuse = (s: string) => mayReuse(ok(s));
  test("HTTP/1.1 persists unless Connection: close", () => {
    expect(reuse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")).toBe(true);
    expect(reuse("HTTP/1.1 200 OK\r\nConnection: Close\r\n\r\n")).toBe(false);
    expect(reuse("HTTP/1.1 200 OK\r\nConnection: foo, close\r\n\r\n")).toBe(false);
  });
  test("HTTP/1.0 persists only with keep-alive", () => {
    expect(reuse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")).toBe(false);
    expect(reuse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")).toBe(true);
  });
});
