import { describe, expect, test } from "bun:test";
import { encodeRequest, ResponseParser } from "../../src/bench/http.ts";

const enc = (s: string) => new TextEncoder().encode(s);

describe("bench HTTP/1.1 wire code", () => {
  test("a request is encoded once, with Host, a default user-agent and Content-Length", () => {
    const r = new TextDecoder().decode(encodeRequest({ method: "PUT", path: "/x?y=1", host: "h:1", headers: [["Host", "evil"], ["X-A", "b"]], body: "hi" }));
    expect(r).toBe("PUT /x?y=1 HTTP/1.1\r\nhost: h:1\r\nX-A: b\r\nuser-agent: gateway-bench\r\ncontent-length: 2\r\n\r\nhi");
  });

  test("header injection is refused", () => {
    expect(() => encodeRequest({ method: "GET", path: "/", host: "h", headers: [["x", "a\r\nb: c"]] })).toThrow("CR, LF and NUL");
  });

  test("responses split at any byte: Content-Length, chunked with trailers, 204, interim 100", () => {
    const wire =
      "HTTP/1.1 100 Continue\r\n\r\n" +
      "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello" +
      "HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\nx-trailer: 1\r\n\r\n" +
      "HTTP/1.1 204 No Content\r\ncontent-length: 99\r\n\r\n" +
      "HTTP/1.1 503 Busy\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
    const bytes = enc(wire);
    for (const step of [1, 3, 7, bytes.length]) {
      const p = new ResponseParser(false);
      const got: number[] = [];
      for (let i = 0; i < bytes.length; i += step) got.push(...p.feed(bytes.slice(i, i + step)));
      expect(got).toEqual([200, 201, 204, 503]);
      expect(p.closing).toBe(true);
    }
  });

  test("HEAD answers have no body whatever Content-Length says", () => {
    const p = new ResponseParser(true);
    expect(p.feed(enc("HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n"))).toEqual([200, 200]);
  });

  test("bytes that are not HTTP/1.1 throw", () => {
    expect(() => new ResponseParser(false).feed(enc("SSH-2.0-OpenSSH\r\n\r\n"))).toThrow("not an HTTP/1.1 status line");
    expect(() => new ResponseParser(false).feed(enc("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n"))).toThrow("bad chunk size");
  });
});
