import { describe, expect, test } from "bun:test";
import { CHUNKED_ERROR, CHUNKED_NEED_MORE, ChunkedDecoder } from "../../../src/client/http1/chunked.ts";

/** Decode `wire` fed in pieces of `step` bytes; returns body text and end offset (in the whole input) or the error. */
function decode(wire: string, step = wire.length): { body: string; end: number; error: string } {
  const bytes = Buffer.from(wire, "latin1");
  const d = new ChunkedDecoder();
  let body = "";
  const sink = { onBodyData: (v: Uint8Array) => (body += Buffer.from(v).toString("latin1")) };
  for (let off = 0; off < bytes.length; off += step) {
    const piece = bytes.subarray(off, Math.min(bytes.length, off + step));
    const r = d.feed(piece, 0, sink);
    if (r === CHUNKED_ERROR) return { body, end: -2, error: d.error };
    if (r >= 0) return { body, end: off + r, error: "" };
  }
  return { body, end: CHUNKED_NEED_MORE, error: "" };
}

describe("chunked decoding (RFC 9112 §7.1)", () => {
  const wire = "5\r\nhello\r\n1;name=val;x=\"q\"\r\n \r\nA\r\n0123456789\r\n0\r\n\r\n";

  test("chunks, extensions ignored, end offset reported", () => {
    expect(decode(wire)).toEqual({ body: "hello 0123456789", end: wire.length, error: "" });
  });

  test("split at every byte boundary gives the same result", () => {
    for (let step = 1; step <= 7; step++) expect(decode(wire, step)).toEqual({ body: "hello 0123456789", end: wire.length, error: "" });
  });

  test("trailer fields are consumed and dropped", () => {
    const w = "3\r\nabc\r\n0\r\nX-Checksum: 1\r\nX-Other: 2\r\n\r\nNEXT";
    expect(decode(w)).toEqual({ body: "abc", end: w.length - 4, error: "" });
    expect(decode(w, 1).body).toBe("abc");
  });

  test("upper and lower case hex, leading zeros, BWS before an extension", () => {
    expect(decode("00a\r\n0123456789\r\nF \t;e\r\n" + "x".repeat(15) + "\r\n000\r\n\r\n").body).toBe("0123456789" + "x".repeat(15));
  });

  test("incomplete input asks for more", () => {
    expect(decode("5\r\nhel").end).toBe(CHUNKED_NEED_MORE);
    expect(decode("0\r\n").end).toBe(CHUNKED_NEED_MORE);
  });

  test.each([
    ["no size", "\r\nabc\r\n0\r\n\r\n"],
    ["non-hex size", "g\r\nabc\r\n0\r\n\r\n"],
    ["negative size", "-1\r\nx\r\n0\r\n\r\n"],
    ["size with a 0x prefix", "0x3\r\nabc\r\n0\r\n\r\n"],
    ["space inside the size", "1 2\r\nx\r\n"],
    ["huge size", "fffffffffffffffff\r\n"],
    ["bare LF after size", "3\nabc\r\n0\r\n\r\n"],
    ["data longer than its size", "3\r\nabcd\r\n0\r\n\r\n"],
    ["missing CRLF after data", "3\r\nabc0\r\n\r\n"],
    ["bare LF in a trailer", "0\r\nX: y\n\r\n"],
    ["bad final line", "0\r\n\rX"],
  ])("rejects %s", (_why, w) => {
    const r = decode(w);
    expect(r.end).toBe(-2);
    expect(r.error).not.toBe("");
  });

  test("caps chunk extensions and trailers", () => {
    expect(decode(`1;${"e".repeat(5000)}\r\nx\r\n0\r\n\r\n`).end).toBe(-2);
    expect(decode(`0\r\nX: ${"v".repeat(70_000)}\r\n\r\n`).end).toBe(-2);
  });

  test("reset makes a decoder reusable", () => {
    const d = new ChunkedDecoder();
    const sink = { onBodyData() {} };
    expect(d.feed(Buffer.from("zz"), 0, sink)).toBe(CHUNKED_ERROR);
    d.reset();
    expect(d.feed(Buffer.from("0\r\n\r\n"), 0, sink)).toBe(5);
  });
});
