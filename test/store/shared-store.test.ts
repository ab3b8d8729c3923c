import { describe, expect, test } from "bun:test";
import { SharedStore } from "../../src/store/index.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const b = (s: string) => te.encode(s);
const str = (u: Uint8Array) => td.decode(u);

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

describe("SharedStore single-threaded", () => {
  test("set then get returns copies of meta and body with times and a version", () => {
    const c = clock();
    const s = new SharedStore(SharedStore.allocate(1 << 20), c.now);
    expect(s.get("k")).toBeNull();
    expect(s.set("k", b("meta"), b("body"), 1000)).toBe(true);
    const e = s.get("k")!;
    expect(str(e.meta)).toBe("meta");
    expect(str(e.body)).toBe("body");
    expect(e.storedAt).toBe(c.t);
    expect(e.expiresAt).toBe(c.t + 1000);
    expect(e.version).toBeGreaterThan(0);
    expect(e.body.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    // a copy: a later write does not change what was read
    s.set("k", b("META"), b("BODY"), 1000);
    expect(str(e.body)).toBe("body");
    const e2 = s.get("k")!;
    expect(str(e2.meta)).toBe("META");
    expect(str(e2.body)).toBe("BODY");
    expect(e2.version).toBeGreaterThan(e.version);
    expect(s.stats().entries).toBe(1);
  });

  test("empty meta and body, unicode keys, many keys", () => {
    const s = new SharedStore(SharedStore.allocate(1 << 20));
    expect(s.set("ключ/ü/🙂", new Uint8Array(0), new Uint8Array(0), 1000)).toBe(true);
    const e = s.get("ключ/ü/🙂")!;
    expect(e.meta.length).toBe(0);
    expect(e.body.length).toBe(0);
    for (let i = 0; i < 500; i++) expect(s.set(`key-${i}`, b(`m${i}`), b(`body-${i}`), 60_000)).toBe(true);
    for (let i = 0; i < 500; i++) expect(str(s.get(`key-${i}`)!.body)).toBe(`body-${i}`);
    expect(s.get("key-500")).toBeNull();
    expect(s.stats().entries).toBe(501);
  });

  test("a second instance over the same buffer sees the same entries", () => {
    const buf = SharedStore.allocate(1 << 20);
    const a = new SharedStore(buf);
    const c = new SharedStore(buf);
    a.set("x", b("1"), b("2"), 1000);
    expect(str(c.get("x")!.body)).toBe("2");
    expect(() => new SharedStore(new SharedArrayBuffer(8192))).toThrow(/SharedStore.allocate/);
  });

  test("expiry: an expired entry reads as absent and counts as absent for insertIfAbsent", () => {
    const c = clock();
    const s = new SharedStore(SharedStore.allocate(1 << 20), c.now);
    s.set("k", b(""), b("old"), 100);
    c.t += 99;
    expect(s.get("k")).not.toBeNull();
    c.t += 1;
    expect(s.get("k")).toBeNull();
    expect(s.insertIfAbsent("k", b(""), b("new"), 100)).toBe(true);
    expect(str(s.get("k")!.body)).toBe("new");
    expect(s.stats().entries).toBe(1);
    expect(s.insertIfAbsent("k", b(""), b("again"), 100)).toBe(false);
    expect(str(s.get("k")!.body)).toBe("new");
  });

  test("bad ttl, oversized objects and overlong keys are refused", () => {
    const s = new SharedStore(SharedStore.allocate(1 << 20, { maxObjectBytes: 1000 }));
    expect(s.set("a", b(""), b("x"), 0)).toBe(false);
    expect(s.set("a", b(""), b("x"), -5)).toBe(false);
    expect(s.set("a", b(""), b("x"), Number.NaN)).toBe(false);
    expect(s.set("a", new Uint8Array(500), new Uint8Array(501), 1000)).toBe(false);
    expect(s.set("a", new Uint8Array(500), new Uint8Array(500), 1000)).toBe(true);
    expect(s.set("x".repeat(70_000), b(""), b("x"), 1000)).toBe(false);
    expect(s.get("x".repeat(70_000))).toBeNull();
    expect(s.set("a", b(""), b("x"), Infinity)).toBe(true);
    expect(s.get("a")!.expiresAt).toBe(Infinity);
    expect(s.stats().maxObjectBytes).toBe(1000);
  });

  test("allocate refuses bad sizes and options", () => {
    expect(() => SharedStore.allocate(100)).toThrow(RangeError);
    expect(() => SharedStore.allocate(1 << 20, { buckets: 3 })).toThrow(/power of two/);
    expect(() => SharedStore.allocate(1 << 20, { maxEntries: 0 })).toThrow(RangeError);
    expect(() => SharedStore.allocate(8192, { maxEntries: 1000 })).toThrow(/no room/);
    expect(SharedStore.allocate(1 << 20).byteLength).toBe(1 << 20);
  });

  test("compareAndSet replaces only at the expected version of an unexpired entry", () => {
    const c = clock();
    const s = new SharedStore(SharedStore.allocate(1 << 20), c.now);
    expect(s.compareAndSet("k", 0, b(""), b("x"), 1000)).toBe(false); // absent
    expect(s.insertIfAbsent("k", b("in-flight"), b(""), 1000)).toBe(true);
    const v1 = s.lastVersion;
    expect(s.get("k")!.version).toBe(v1);
    expect(s.compareAndSet("k", v1 + 1, b("done"), b("r"), 5000)).toBe(false);
    expect(s.compareAndSet("k", v1, b("done"), b("r"), 5000)).toBe(true);
    const v2 = s.lastVersion;
    expect(v2).toBeGreaterThan(v1);
    expect(str(s.get("k")!.meta)).toBe("done");
    expect(s.compareAndSet("k", v1, b("again"), b("r"), 5000)).toBe(false); // stale version
    // versions are never reused, even after delete + re-insert (no ABA)
    expect(s.delete("k")).toBe(true);
    expect(s.insertIfAbsent("k", b(""), b(""), 1000)).toBe(true);
    expect(s.lastVersion).toBeGreaterThan(v2);
    expect(s.compareAndSet("k", v2, b(""), b(""), 1000)).toBe(false);
    // expired: CAS fails even at the right version
    const v3 = s.lastVersion;
    c.t += 1000;
    expect(s.compareAndSet("k", v3, b(""), b(""), 1000)).toBe(false);
  });

  test("delete and deletePrefix", () => {
    const s = new SharedStore(SharedStore.allocate(1 << 20));
    expect(s.delete("nope")).toBe(false);
    for (let i = 0; i < 50; i++) s.set(`http://a.example/users/${i}`, b(""), b("u"), 60_000);
    for (let i = 0; i < 30; i++) s.set(`http://a.example/orders/${i}`, b(""), b("o"), 60_000);
    s.set("http://a.example/user", b(""), b("not under users/"), 60_000);
    expect(s.deletePrefix("http://a.example/users/")).toBe(50);
    expect(s.get("http://a.example/users/3")).toBeNull();
    expect(s.get("http://a.example/orders/3")).not.toBeNull();
    expect(s.get("http://a.example/user")).not.toBeNull();
    expect(s.deletePrefix("http://a.example/users/")).toBe(0);
    expect(s.stats().entries).toBe(31);
    expect(s.delete("http://a.example/user")).toBe(true);
    expect(s.deletePrefix("")).toBe(30);
    expect(s.stats().entries).toBe(0);
    expect(s.stats().bytes).toBe(0);
  });

  test("full key compare: distinct keys with equal hashes in one bucket never alias", () => {
    // hashBits 0: every key has the same (zero) hash; buckets 1: one chain.
    const s = new SharedStore(SharedStore.allocate(1 << 20, { buckets: 1, hashBits: 0 }));
    for (let i = 0; i < 100; i++) s.set(`k${i}`, b(""), b(`v${i}`), 60_000);
    for (let i = 0; i < 100; i++) expect(str(s.get(`k${i}`)!.body)).toBe(`v${i}`);
    expect(s.get("k100")).toBeNull();
    expect(s.get("k1 ")).toBeNull();
    expect(s.insertIfAbsent("k7", b(""), b("x"), 1000)).toBe(false);
    expect(s.delete("k50")).toBe(true);
    expect(s.get("k50")).toBeNull();
    expect(str(s.get("k51")!.body)).toBe("v51");
    expect(s.deletePrefix("k1")).toBe(11); // k1, k10..k19
    expect(s.stats().entries).toBe(88);
  });

  test("eviction under byte pressure keeps memory bounded and recent entries readable", () => {
    const s = new SharedStore(SharedStore.allocate(64 * 1024, { maxEntries: 64 }));
    const cap = s.stats().capacity;
    const body = new Uint8Array(1000).fill(7);
    for (let i = 0; i < 2000; i++) {
      expect(s.set(`k${i}`, b(`m${i}`), body, 60_000)).toBe(true);
      const st = s.stats();
      expect(st.usedBytes).toBeLessThanOrEqual(cap);
      expect(st.bytes).toBeLessThanOrEqual(st.usedBytes);
    }
    const st = s.stats();
    expect(st.evictions).toBeGreaterThan(1900);
    expect(st.arenaBytes).toBe(64 * 1024);
    // the newest entry is always there, intact
    const e = s.get("k1999")!;
    expect(str(e.meta)).toBe("m1999");
    expect(e.body.every((x) => x === 7)).toBe(true);
    expect(s.get("k0")).toBeNull();
  });

  test("eviction under entry pressure keeps at most maxEntries", () => {
    const s = new SharedStore(SharedStore.allocate(1 << 20, { maxEntries: 10 }));
    for (let i = 0; i < 100; i++) expect(s.set(`k${i}`, b(""), b("v"), 60_000)).toBe(true);
    expect(s.stats().entries).toBe(10);
    for (let i = 90; i < 100; i++) expect(s.get(`k${i}`)).not.toBeNull();
    // replacing an existing key when full evicts nothing else
    const ev = s.stats().evictions;
    s.set("k95", b(""), b("w"), 60_000);
    expect(s.stats().evictions).toBe(ev);
    expect(s.stats().entries).toBe(10);
  });

  test("CLOCK second chance: an entry read since it was written survives a pass", () => {
    const s = new SharedStore(SharedStore.allocate(64 * 1024, { maxEntries: 200 }));
    const body = new Uint8Array(1000);
    s.set("hot", b(""), body, 60_000);
    for (let i = 0; i < 500; i++) {
      s.get("hot");
      s.set(`cold${i}`, b(""), body, 60_000);
    }
    expect(s.get("hot")).not.toBeNull();
    expect(s.get("cold0")).toBeNull();
  });

  test("expired entries are reclaimed at the tail and counted", () => {
    const c = clock();
    const s = new SharedStore(SharedStore.allocate(64 * 1024, { maxEntries: 64 }), c.now);
    const body = new Uint8Array(1000);
    for (let i = 0; i < 40; i++) s.set(`old${i}`, b(""), body, 10);
    c.t += 10;
    for (let i = 0; i < 60; i++) s.set(`new${i}`, b(""), body, 60_000);
    const st = s.stats();
    expect(st.expired).toBeGreaterThan(0);
    expect(s.get("new59")).not.toBeNull();
  });

  test("a body as large as the ring's max object fits, then the next one evicts it", () => {
    const s = new SharedStore(SharedStore.allocate(64 * 1024));
    const max = s.stats().maxObjectBytes;
    const big = new Uint8Array(max).fill(1);
    expect(s.set("big1", b(""), big, 60_000)).toBe(true);
    expect(s.set("big2", b(""), big, 60_000)).toBe(true);
    for (let i = 0; i < 20; i++) expect(s.set(`big${i}`, b(""), big, 60_000)).toBe(true);
    expect(s.get("big19")!.body.length).toBe(max);
    expect(s.stats().usedBytes).toBeLessThanOrEqual(s.stats().capacity);
  });

  test("read shows the entry in place, without a copy, and keeps what the visitor returns", () => {
    const c = clock();
    const s = new SharedStore(SharedStore.allocate(1 << 20), c.now);
    expect(s.read("k", () => "seen")).toBeNull();
    s.set("k", b("meta"), b("body"), 1000);
    const seen = s.read("k", (v) => {
      expect(v.bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
      return {
        meta: str(v.bytes.slice(v.metaStart, v.bodyStart)),
        body: str(v.bytes.slice(v.bodyStart, v.bodyEnd)),
        expiresAt: v.expiresAt,
        storedAt: v.storedAt,
        version: v.version,
      };
    })!;
    const got = s.get("k")!;
    expect(seen).toEqual({ meta: "meta", body: "body", expiresAt: c.t + 1000, storedAt: c.t, version: got.version });
    // an empty meta and body: empty ranges
    s.set("e", new Uint8Array(0), new Uint8Array(0), 1000);
    expect(s.read("e", (v) => [v.bodyStart - v.metaStart, v.bodyEnd - v.bodyStart])).toEqual([0, 0]);
    // expired: absent, the visitor is not called
    c.t += 1000;
    expect(s.read("k", () => { throw new Error("called"); })).toBeNull();
  });

  test("read: a visitor that throws on a clean pass throws to the caller", () => {
    const s = new SharedStore(SharedStore.allocate(1 << 20));
    s.set("k", b(""), b("x"), 1000);
    expect(() => s.read("k", () => { throw new Error("visitor"); })).toThrow("visitor");
    expect(str(s.get("k")!.body)).toBe("x");
  });

  test("the CLOCK bit set by read spares the entry as get's does", () => {
    const s = new SharedStore(SharedStore.allocate(64 * 1024, { maxEntries: 200 }));
    const body = new Uint8Array(1000);
    s.set("hot", b(""), body, 60_000);
    for (let i = 0; i < 500; i++) {
      s.read("hot", (v) => v.version);
      s.set(`cold${i}`, b(""), body, 60_000);
    }
    expect(s.get("hot")).not.toBeNull();
  });

  test("hits and misses are counted", () => {
    const s = new SharedStore(SharedStore.allocate(1 << 20));
    s.set("a", b(""), b(""), 1000);
    s.get("a");
    s.get("a");
    s.get("b");
    const st = s.stats();
    expect(st.hits).toBe(2);
    expect(st.misses).toBe(1);
  });
});

describe("SharedStore against a model", () => {
  test("random set/insertIfAbsent/compareAndSet/delete: what is read always matches the last write of that key", () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const c = clock();
    // small ring and index: constant eviction and wrap-around
    const s = new SharedStore(SharedStore.allocate(32 * 1024, { maxEntries: 40, buckets: 8 }), c.now);
    const model = new Map<string, { body: string; version: number; expiresAt: number }>();
    for (let i = 0; i < 20_000; i++) {
      const key = `key-${rnd(80)}`;
      const body = "x".repeat(rnd(900)) + i;
      const op = rnd(10);
      if (op < 4) {
        if (s.set(key, b(String(i)), b(body), 1 + rnd(500))) model.set(key, { body, version: s.lastVersion, expiresAt: c.t + 0 });
      } else if (op < 5) {
        const had = s.get(key) !== null;
        const ok = s.insertIfAbsent(key, b(String(i)), b(body), 1 + rnd(500));
        expect(ok).toBe(!had);
        if (ok) model.set(key, { body, version: s.lastVersion, expiresAt: 0 });
      } else if (op < 6) {
        const cur = s.get(key);
        if (cur) {
          expect(s.compareAndSet(key, cur.version + 1, b(""), b(body), 100)).toBe(false);
          expect(s.compareAndSet(key, cur.version, b(""), b(body), 100)).toBe(true);
          model.set(key, { body, version: s.lastVersion, expiresAt: 0 });
        }
      } else if (op < 7) {
        s.delete(key);
        model.delete(key);
        expect(s.get(key)).toBeNull();
      } else {
        const e = s.get(key);
        if (e) {
          const m = model.get(key)!;
          expect(m).toBeDefined();
          expect(e.version).toBe(m.version);
          expect(str(e.body)).toBe(m.body);
        }
      }
      if (rnd(50) === 0) c.t += rnd(200);
      const st = s.stats();
      expect(st.entries).toBeLessThanOrEqual(40);
      expect(st.usedBytes).toBeLessThanOrEqual(st.capacity);
    }
    const st = s.stats();
    expect(st.evictions + st.expired).toBeGreaterThan(100);
  });
});
