import { describe, expect, test } from "bun:test";
import type { UpstreamConfig } from "../../../src/config/types.ts";
import { HashRing, MAX_POINTS } from "../../../src/upstream/balancers/hash.ts";
import { hashString } from "../../../src/upstream/balancers/hash-key.ts";
import { createUpstreamRuntime } from "../../../src/upstream/runtime.ts";
import { countPicks, ctx, setup, target, upstream, urls } from "../helpers.ts";

const KEYS = 10_000;
const keyCtx = Array.from({ length: KEYS }, (_, k) => ctx({ path: `/users/${k}` }));

/** Target URL each of the 10k keys maps to. */
function mapping(config: UpstreamConfig, prepare?: (v: ReturnType<typeof setup>["view"]) => void): string[] {
  const { rt, view } = setup(config);
  prepare?.(view);
  return keyCtx.map((c) => config.targets[rt.pick(c, null)]!.url);
}

const byPath = (targets: Parameters<typeof upstream>[0]["targets"]) => upstream({ balancer: "hash", hash_key: "path", targets });

describe("hash (consistent ring)", () => {
  test("the same key always goes to the same target, in every worker", () => {
    const config = byPath(urls(5));
    const { rt, view } = setup(config);
    const other = createUpstreamRuntime(config, view, 0);
    for (let k = 0; k < 200; k++) {
      const c = keyCtx[k]!;
      const i = rt.pick(c, null);
      for (let r = 0; r < 5; r++) expect(rt.pick(c, null)).toBe(i);
      expect(other.pick(c, null)).toBe(i);
    }
  });

  test("keys spread about evenly over equal targets", () => {
    const counts = new Map<string, number>();
    for (const url of mapping(byPath(urls(5)))) counts.set(url, (counts.get(url) ?? 0) + 1);
    expect(counts.size).toBe(5);
    for (const n of counts.values()) expect(Math.abs(n / KEYS - 0.2)).toBeLessThan(0.05);
  });

  test("removing 1 of 5 targets remaps only that target's keys (~1/5 of 10k)", () => {
    const five = urls(5);
    const before = mapping(byPath(five));
    const after = mapping(byPath(five.filter((_, i) => i !== 2)));
    let moved = 0;
    for (let k = 0; k < KEYS; k++) {
      if (before[k] === after[k]) continue;
      moved++;
      // Only keys of the removed target move.
      expect(before[k]).toBe(five[2]!);
    }
    expect(moved / KEYS).toBeLessThanOrEqual(0.2 + 0.05);
    expect(moved / KEYS).toBeGreaterThan(0.2 - 0.05);
  });

  test("adding a 6th target takes ~1/6 of the keys, only to itself", () => {
    const before = mapping(byPath(urls(5)));
    const after = mapping(byPath(urls(6)));
    let moved = 0;
    for (let k = 0; k < KEYS; k++) {
      if (before[k] === after[k]) continue;
      moved++;
      expect(after[k]).toBe(urls(6)[5]!);
    }
    expect(Math.abs(moved / KEYS - 1 / 6)).toBeLessThan(0.05);
  });

  test("an unusable target's keys move to the next on the ring, and come back with it", () => {
    const config = byPath(urls(5));
    const { rt, view } = setup(config);
    const before = keyCtx.map((c) => rt.pick(c, null));
    view.setHealth(0, 3, false);
    const during = keyCtx.map((c) => rt.pick(c, null));
    let moved = 0;
    for (let k = 0; k < KEYS; k++) {
      if (before[k] === 3) {
        expect(during[k]).not.toBe(3);
        moved++;
      } else {
        expect(during[k]).toBe(before[k]!);
      }
    }
    expect(moved / KEYS).toBeLessThan(0.25);
    // The same as a ring without it: "next on the ring".
    const without = mapping(byPath(urls(5).filter((_, i) => i !== 3)));
    for (let k = 0; k < KEYS; k++) expect(config.targets[during[k]!]!.url).toBe(without[k]!);
    view.setHealth(0, 3, true);
    expect(keyCtx.map((c) => rt.pick(c, null))).toEqual(before);
  });

  test("a retry (target excluded) goes to the key's next target on the ring", () => {
    const { rt } = setup(byPath(urls(4)));
    for (let k = 0; k < 100; k++) {
      const first = rt.pick(keyCtx[k]!, null);
      const second = rt.pick(keyCtx[k]!, [first]);
      expect(second).not.toBe(first);
      expect(rt.pick(keyCtx[k]!, [first])).toBe(second);
    }
  });

  test("weights scale a target's share of the ring", () => {
    const config = byPath([{ url: "http://a:1", weight: 3 }, "http://b:1"]);
    const share = mapping(config).filter((u) => u === "http://a:1").length / KEYS;
    expect(Math.abs(share - 0.75)).toBeLessThan(0.05);
  });

  test("a request without the key is balanced round robin", () => {
    const { rt } = setup(upstream({ balancer: "hash", hash_key: "header:x-user", targets: urls(3) }));
    expect(countPicks(rt, 300, ctx())).toEqual([100, 100, 100]);
  });

  test("each key kind is sticky per value", () => {
    const cases: [string, (v: string) => ReturnType<typeof ctx>][] = [
      ["ip", (v) => ctx({ clientIp: `10.1.${v.length}.${v.charCodeAt(v.length - 1)}` })],
      ["path", (v) => ctx({ path: `/p/${v}` })],
      ["header:X-Tenant", (v) => ctx({ headers: { "x-tenant": v } })],
      ["cookie:sid", (v) => ctx({ headers: { cookie: `a=1; sid=${v}; b=2` } })],
      ["query:user", (v) => ctx({ query: `?x=1&user=${v}` })],
    ];
    for (const [key, make] of cases) {
      const { rt } = setup(upstream({ balancer: "hash", hash_key: key, targets: urls(7) }));
      const seen = new Set<number>();
      for (let k = 0; k < 60; k++) {
        const v = `v${k}`;
        const i = rt.pick(make(v), null);
        seen.add(i);
        expect(rt.pick(make(v), null)).toBe(i);
      }
      // Different values do spread.
      expect(seen.size).toBeGreaterThan(2);
    }
  });
});

describe("ip_hash", () => {
  test("a client IP sticks to its target; clients spread", () => {
    const { rt } = setup(upstream({ balancer: "ip_hash", targets: urls(4) }));
    const counts = [0, 0, 0, 0];
    for (let k = 0; k < 1000; k++) {
      const c = ctx({ clientIp: `192.168.${k >> 8}.${k & 255}` });
      const i = rt.pick(c, null);
      counts[i]!++;
      expect(rt.pick(c, null)).toBe(i);
      expect(rt.pick(ctx({ clientIp: c.clientIp, path: "/other" }), null)).toBe(i);
    }
    for (const n of counts) expect(n).toBeGreaterThan(150);
  });

  test("IPv6 clients hash too", () => {
    const { rt } = setup(upstream({ balancer: "ip_hash", targets: urls(3) }));
    const c = ctx({ clientIp: "2001:db8::1" });
    const i = rt.pick(c, null);
    for (let k = 0; k < 10; k++) expect(rt.pick(c, null)).toBe(i);
  });
});

describe("HashRing", () => {
  test("ring size is 160 points per unit of weight, capped", () => {
    const targets = [target("http://a:1"), target({ url: "http://b:1", weight: 2 })];
    expect(new HashRing(targets, [0, 1]).size).toBe(480);
    const heavy = [target({ url: "http://a:1", weight: 1000 }), target({ url: "http://b:1", weight: 0.0001 })];
    const ring = new HashRing(heavy, [0, 1]);
    expect(ring.size).toBeLessThanOrEqual(MAX_POINTS + 1);
    // Even a tiny weight keeps one point.
    const usable = new Uint8Array([0, 1]);
    expect(ring.lookup(hashString("x"), usable)).toBe(1);
  });

  test("the same URL listed twice gets two distinct sets of points", () => {
    const targets = [target("http://a:1"), target("http://a:1")];
    const ring = new HashRing(targets, [0, 1]);
    const usable = new Uint8Array([1, 1]);
    const counts = [0, 0];
    for (let k = 0; k < 2000; k++) counts[ring.lookup(hashString(`k${k}`), usable)]!++;
    expect(counts[0]).toBeGreaterThan(700);
    expect(counts[1]).toBeGreaterThan(700);
  });

  test("the bucket-indexed lookup finds the first point clockwise, as a plain search would", () => {
    const targets = [target("http://a:1"), target({ url: "http://b:1", weight: 2 }), target("http://c:1")];
    const ring = new HashRing(targets, [0, 1, 2]);
    // Reference: the same points, searched linearly.
    const points = targets
      .flatMap((t, i) => Array.from({ length: 160 * t.weight }, (_, v) => ({ point: hashString(`${t.url}#0-${v}`), owner: i })))
      .sort((x, y) => x.point - y.point || x.owner - y.owner);
    const reference = (h: number) => (points.find((p) => p.point >= h) ?? points[0]!).owner;
    const usable = new Uint8Array([1, 1, 1]);
    const probes = [0, 1, 0xffffffff, 0x80000000, ...points.slice(0, 50).map((p) => p.point), ...points.slice(0, 50).map((p) => p.point + 1)];
    for (let k = 0; k < 2000; k++) probes.push(hashString(`probe${k}`));
    for (const h of probes) expect(ring.lookup(h >>> 0, usable)).toBe(reference(h >>> 0));
  });

  test("lookup wraps past the last point and returns -1 when no owner is usable", () => {
    const ring = new HashRing([target("http://a:1"), target("http://b:1")], [0, 1]);
    expect([0, 1]).toContain(ring.lookup(0xffffffff, new Uint8Array([1, 1])));
    expect(ring.lookup(123, new Uint8Array([0, 0]))).toBe(-1);
  });
});
