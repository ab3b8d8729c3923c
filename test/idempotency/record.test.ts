import { describe, expect, test } from "bun:test";
import { decodeRecord, encodeHead, packRecord, unpackRecord, type IdempotencyRecord } from "../../src/idempotency/index.ts";

describe("idempotency record format", () => {
  const records: IdempotencyRecord[] = [
    { state: "pending", token: "t-1" },
    { state: "done", fp: "abc", status: 200, headers: [["set-cookie", "a=1"], ["x", "é"]], body: new Uint8Array([0, 1, 255]) },
    { state: "done", fp: "abc", status: 204, headers: [], body: new Uint8Array(0) },
    { state: "unreplayable", fp: "abc", status: 500 },
  ];
  test("pack/unpack round-trips every state with binary bodies", () => {
    for (const r of records) expect(unpackRecord(packRecord(r))).toEqual(r.state === "done" ? r : r);
  });
  test("head + body round-trips", () => {
    for (const r of records) expect(decodeRecord(encodeHead(r), r.state === "done" ? r.body : new Uint8Array(0))).toEqual(r);
  });
  test("foreign or truncated values decode to null", () => {
    const enc = new TextEncoder();
    expect(unpackRecord(new Uint8Array([0, 0]))).toBeNull();
    expect(unpackRecord(new Uint8Array([0, 0, 0, 9, 1]))).toBeNull();
    expect(decodeRecord(enc.encode("not json"), new Uint8Array(0))).toBeNull();
    expect(decodeRecord(enc.encode('{"s":"d","f":"x","c":200,"h":[[1,2]]}'), new Uint8Array(0))).toBeNull();
    expect(decodeRecord(enc.encode('{"s":"z"}'), new Uint8Array(0))).toBeNull();
  });
});
