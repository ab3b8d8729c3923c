import { expect, test } from "bun:test";
import { IpFilter } from "../../src/edge/ip-filter.ts";

test("deny wins, an allow list admits only its members, v4 and v6, mapped v4", () => {
  const f = new IpFilter({ allow: ["10.0.0.0/8", "2001:db8::/32"], deny: ["10.9.0.0/16", "2001:db8:dead::/48"] });
  expect(f.admits("10.1.2.3")).toBe(true);
  expect(f.admits("::ffff:10.1.2.3")).toBe(true);
  expect(f.admits("10.9.0.1")).toBe(false);
  expect(f.admits("11.0.0.1")).toBe(false);
  expect(f.admits("2001:db8::1")).toBe(true);
  expect(f.admits("2001:db8:dead::1")).toBe(false);
  expect(f.admits("2001:db9::1")).toBe(false);
  expect(f.admits("")).toBe(false);
  const denyOnly = new IpFilter({ allow: [], deny: ["192.0.2.1"] });
  expect(denyOnly.admits("192.0.2.1")).toBe(false);
  expect(denyOnly.admits("192.0.2.2")).toBe(true);
  expect(denyOnly.admits("")).toBe(true);
});
