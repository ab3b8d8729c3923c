import { describe, expect, test } from "bun:test";
import { compileCidrs, normalizeIp, parseIPv4, parseIPv6 } from "../../src/util/cidr.ts";

describe("parseIPv4", () => {
  test.each([
    ["1.2.3.4", 0x01020304],
    ["255.255.255.255", 0xffffffff],
    ["0.0.0.0", 0],
    ["127.0.0.1", 0x7f000001],
    ["01.2.3.4", 0x01020304],
  ] as const)("%p parses", (ip, n) => {
    expect(parseIPv4(ip)).toBe(n);
  });
  test.each(["256.1.1.1", "1.2.3", "1.2.3.4.5", "1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4 ", " 1.2.3.4", "0001.2.3.4", "a.b.c.d", "", "::1", "1.2.3.999", "1.2.3.-4", "1.2.3.+4"])(
    "%p is refused",
    (ip) => {
      expect(parseIPv4(ip)).toBeNull();
    },
  );
});

describe("CIDR sets", () => {
  const set = compileCidrs(["127.0.0.1/32", "10.0.0.0/8", "192.168.1.0/24", "::1", "fd00::/8"]);
  test.each([
    ["127.0.0.1", true],
    ["127.0.0.2", false],
    ["10.255.1.2", true],
    ["11.0.0.1", false],
    ["192.168.1.77", true],
    ["192.168.2.1", false],
    ["::ffff:10.1.2.3", true],
    ["::1", true],
    ["fd12:3456::1", true],
    ["fe80::1", false],
    ["not an ip", false],
  ] as const)("%p in the set: %p", (ip, inSet) => {
    expect(set.has(ip)).toBe(inSet);
  });
  test("an empty list trusts nobody", () => {
    expect(compileCidrs([]).has("127.0.0.1")).toBe(false);
  });
  test("bad entries throw with the entry", () => {
    expect(() => compileCidrs(["10.0.0.0/33"])).toThrow('invalid CIDR "10.0.0.0/33"');
    expect(() => compileCidrs(["10.0.0"])).toThrow('invalid IP address or CIDR "10.0.0"');
  });
  test("IPv4-mapped IPv6 addresses are their IPv4 address", () => {
    expect(normalizeIp("::ffff:1.2.3.4")).toBe("1.2.3.4");
    expect(normalizeIp("::ffff:abcd")).toBe("::ffff:abcd");
    expect(parseIPv6("::1")).toBe(1n);
  });
});
