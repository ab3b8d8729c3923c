import { describe, expect, test } from "bun:test";
import { digestBody, digestBytes, digestRequest, fingerprint, scopedKey } from "../../../src/policies/idempotency/fingerprint";

function stream(...chunks: string[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      for (const s of chunks) c.enqueue(new TextEncoder().encode(s));
      c.close();
    },
  });
}

describe("idempotency fingerprint", () => {
  test("streamed digest equals the whole-body digest regardless of chunking", async () => {
    expect(await digestBody(stream("ab", "c"))).toBe(await digestBody(stream("abc")));
    expect(await digestBody(null)).toBe(await digestBody(stream()));
  });
  test("a retry's body digest is the same whether read whole (small, Content-Length) or streamed (large or chunked)", async () => {
    const small = new TextEncoder().encode('{"amount":10}');
    const large = new Uint8Array(200_000).fill(7);
    expect(await digestRequest(new Request("http://x/", { method: "POST", body: small }))).toBe(digestBytes(small));
    expect(await digestRequest(new Request("http://x/", { method: "POST", body: large }))).toBe(digestBytes(large));
    expect(await digestRequest(new Request("http://x/", { method: "POST", body: stream('{"amount"', ":10}") }))).toBe(digestBytes(small));
    expect(await digestRequest(new Request("http://x/", { method: "POST" }))).toBe(digestBytes(null));
  });
  test("any field change changes the fingerprint; fields cannot bleed", () => {
    const base = fingerprint("POST", "/a", "x=1", "d");
    expect(fingerprint("post", "/a", "x=1", "d")).toBe(base);
    expect(fingerprint("PUT", "/a", "x=1", "d")).not.toBe(base);
    expect(fingerprint("POST", "/b", "x=1", "d")).not.toBe(base);
    expect(fingerprint("POST", "/a", "x=2", "d")).not.toBe(base);
    expect(fingerprint("POST", "/a", "x=1", "e")).not.toBe(base);
    expect(fingerprint("POST", "/a?", "x=1", "d")).not.toBe(fingerprint("POST", "/a", "?x=1", "d"));
  });
  test("caller scoping separates equal keys", () => {
    expect(scopedKey("alice", "k")).not.toBe(scopedKey("bob", "k"));
    expect(scopedKey("a:b", "c")).not.toBe(scopedKey("a", "b:c"));
  });
});
