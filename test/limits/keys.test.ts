import { describe, expect, test } from "bun:test";
import { hashFinish, hashStart, keyHash } from "../../src/limits/hash.ts";
import { compileKey, keyPartProblems } from "../../src/limits/keys.ts";
import { ctx } from "./helpers.ts";

function hashOf(parts: string[], c: ReturnType<typeof ctx>, routeName = "r"): string {
  hashStart(1, 2);
  compileKey(parts, routeName).feed(c);
  hashFinish();
  return `${keyHash.a}:${keyHash.b}`;
}

describe("key parts", () => {
  test("ip, consumer, header and claim values are separated", () => {
    const a = ctx({ ip: "192.0.2.1" });
    const b = ctx({ ip: "192.0.2.2" });
    expect(hashOf(["ip"], a)).not.toBe(hashOf(["ip"], b));
    expect(hashOf(["consumer"], ctx({ consumer: "alice" }))).not.toBe(hashOf(["consumer"], ctx({ consumer: "bob" })));
    expect(hashOf(["header:x-tenant"], ctx({ headers: { "x-tenant": "t1" } }))).not.toBe(hashOf(["header:x-tenant"], ctx({ headers: { "x-tenant": "t2" } })));
    expect(hashOf(["claim:org"], ctx({ claims: { org: "o1" } }))).not.toBe(hashOf(["claim:org"], ctx({ claims: { org: "o2" } })));
  });

  test("global and route ignore the caller", () => {
    expect(hashOf(["global"], ctx({ ip: "192.0.2.1" }))).toBe(hashOf(["global"], ctx({ ip: "192.0.2.9" })));
    expect(hashOf(["route"], ctx({ ip: "192.0.2.1" }), "a")).toBe(hashOf(["route"], ctx({ ip: "192.0.2.9" }), "a"));
    expect(hashOf(["route"], ctx(), "a")).not.toBe(hashOf(["route"], ctx(), "b"));
  });

  test("missing header, claim or consumer falls back to the client IP, not a shared bucket", () => {
    for (const part of ["header:x-tenant", "claim:org", "consumer"]) {
      const one = hashOf([part], ctx({ ip: "192.0.2.1" }));
      const two = hashOf([part], ctx({ ip: "192.0.2.2" }));
      expect(one).not.toBe(two);
      expect(one).toBe(hashOf(["ip"], ctx({ ip: "192.0.2.1" })));
    }
    // Empty values and non-primitive claims fall back too.
    expect(hashOf(["header:x-tenant"], ctx({ ip: "192.0.2.1", headers: { "x-tenant": "" } }))).toBe(hashOf(["ip"], ctx({ ip: "192.0.2.1" })));
    expect(hashOf(["claim:org"], ctx({ ip: "192.0.2.1", claims: { org: { nested: 1 } } }))).toBe(hashOf(["ip"], ctx({ ip: "192.0.2.1" })));
    expect(hashOf(["claim:n"], ctx({ claims: { n: 42 } }))).not.toBe(hashOf(["claim:n"], ctx({ claims: { n: 43 } })));
  });

  test("a header whose value looks like an IP does not share the IP's bucket", () => {
    expect(hashOf(["header:x-tenant"], ctx({ ip: "192.0.2.1", headers: { "x-tenant": "192.0.2.1" } }))).not.toBe(hashOf(["ip"], ctx({ ip: "192.0.2.1" })));
  });

  test("lists can't be forged by values containing the separator", () => {
    const parts = ["header:a", "header:b"];
    const x = ctx({ headers: { a: "1|h1:2", b: "3" } });
    const y = ctx({ headers: { a: "1", b: "2|h1:3" } });
    expect(hashOf(parts, x)).not.toBe(hashOf(parts, y));
    const k = compileKey(parts, "r");
    expect(k.text(x)).not.toBe(k.text(y));
    expect(k.text(ctx({ headers: { a: "ab", b: "c" } }))).not.toBe(k.text(ctx({ headers: { a: "a", b: "bc" } })));
  });

  test("text form is length-prefixed and tagged", () => {
    const k = compileKey(["ip", "header:X-Tenant", "consumer"], "r");
    expect(k.text(ctx({ ip: "192.0.2.1", headers: { "x-tenant": "acme" } }))).toBe("i9:192.0.2.1|h4:acme|i9:192.0.2.1");
  });

  test("header names are matched case-insensitively", () => {
    expect(hashOf(["header:X-Tenant"], ctx({ headers: { "x-tenant": "t1" } }))).toBe(hashOf(["header:x-tenant"], ctx({ headers: { "X-TENANT": "t1" } })));
  });

  test("unknown parts are rejected", () => {
    expect(keyPartProblems(["ip", "cookie:x", "header:", "claim:", "IP"])).toHaveLength(4);
    expect(() => compileKey(["nope"], "r")).toThrow(/unknown key part "nope"/);
  });
});
