// HttpCache and the coalescer on the real shared arena (src/store): Vary markers, purges, tags, fill locks.
import { describe, expect, test } from "bun:test";
import { Coalescer } from "../../src/cache/coalesce.ts";
import { makeEntry } from "../../src/cache/entry.ts";
import { HttpCache } from "../../src/cache/http-cache.ts";
import { primaryKey } from "../../src/cache/keys.ts";
import { SharedStore } from "../../src/store/index.ts";

const NOW = Date.now();
const OPTS = { ttl: 0, staleWhileRevalidate: 0, staleIfError: 0 };
const body = (s: string) => new TextEncoder().encode(s);
const fresh = (extra: [string, string][] = []) => makeEntry(200, [["cache-control", "max-age=60"], ...extra], NOW, NOW, OPTS);
const cacheOf = () => new HttpCache(new SharedStore(SharedStore.allocate(2 * 1024 * 1024)));
const headers = (h: Record<string, string>) => (n: string) => h[n] ?? null;

describe("HttpCache", () => {
  test("a plain entry at its primary key", () => {
    const c = cacheOf();
    const p = primaryKey("http://h/a", "r");
    expect(c.lookup(p, headers({})).kind).toBe("uri-miss");
    expect(c.put(p, headers({}), fresh(), body("A"), NOW)).toBe(true);
    const l = c.lookup(p, headers({}));
    expect(l.kind === "found" && new TextDecoder().decode(l.body)).toBe("A");
  });
  test("Vary: a marker, then one variant per secondary key", () => {
    const c = cacheOf();
    const p = primaryKey("http://h/v", "r");
    c.put(p, headers({ "accept-language": "en" }), fresh([["vary", "Accept-Language"]]), body("en"), NOW);
    expect(c.lookup(p, headers({ "accept-language": "fr" })).kind).toBe("vary-miss");
    c.put(p, headers({ "accept-language": "fr" }), fresh([["vary", "Accept-Language"]]), body("fr"), NOW);
    const en = c.lookup(p, headers({ "accept-language": "en" }));
    expect(en.kind === "found" && new TextDecoder().decode(en.body)).toBe("en");
    // purge by URL takes the marker and both variants, on every route
    c.put(primaryKey("http://h/v", "other"), headers({}), fresh(), body("o"), NOW);
    expect(c.invalidate("http://h/v")).toBe(4);
    expect(c.lookup(p, headers({ "accept-language": "en" })).kind).toBe("uri-miss");
  });
  test("invalidation of a URL leaves longer URLs with the same start alone", () => {
    const c = cacheOf();
    c.put(primaryKey("http://h/a", "r"), headers({}), fresh(), body("1"), NOW);
    c.put(primaryKey("http://h/ab", "r"), headers({}), fresh(), body("2"), NOW);
    expect(c.invalidate("http://h/a")).toBe(1);
    expect(c.lookup(primaryKey("http://h/ab", "r"), headers({})).kind).toBe("found");
    expect(c.purgePrefix("http://h/")).toBe(1);
  });
  test("tags index every key that carries them", () => {
    const c = cacheOf();
    for (const u of ["/1", "/2", "/3"]) c.put(primaryKey(`http://h${u}`, "r"), headers({}), fresh([["surrogate-key", u === "/3" ? "other" : "user-1"]]), body(u), NOW);
    expect(c.purgeTag("user-1")).toBe(2);
    expect(c.purgeTag("user-1")).toBe(0);
    expect(c.lookup(primaryKey("http://h/3", "r"), headers({})).kind).toBe("found");
  });
  test("memoized hits: the same entry object for one stored version; a replacement, a purge or another worker's write is seen at once", async () => {
    const store = new SharedStore(SharedStore.allocate(2 * 1024 * 1024));
    const c = new HttpCache(store);
    const other = new HttpCache(new SharedStore(store.buffer)); // another worker's view of the same arena
    const p = primaryKey("http://h/m", "r");
    c.put(p, headers({}), fresh([["content-type", "text/plain"]]), body("one"), NOW);
    const a = c.lookup(p, headers({}));
    const b = c.lookup(p, headers({}));
    expect(a.kind).toBe("found");
    expect(b).toBe(a); // decoded once
    if (a.kind !== "found") return;
    // the header template and the Blob are built on the second lookup of a version, for the hits after it
    expect(a.headers!.get("content-type")).toBe("text/plain");
    expect(await a.blob!.text()).toBe("one");
    other.put(p, headers({}), fresh(), body("two"), NOW);
    const c2 = c.lookup(p, headers({}));
    expect(c2.kind === "found" && new TextDecoder().decode(c2.body)).toBe("two");
    other.invalidate("http://h/m");
    expect(c.lookup(p, headers({})).kind).toBe("uri-miss");
  });
  test("a stale entry without validators or windows is not kept", () => {
    const c = cacheOf();
    expect(c.put(primaryKey("http://h/s", "r"), headers({}), makeEntry(200, [["cache-control", "max-age=0"]], NOW, NOW, OPTS), body("x"), NOW)).toBe(false);
  });
});

describe("Coalescer", () => {
  test("one leader per key; the others wait for its release", async () => {
    const c = cacheOf();
    const co = new Coalescer(c, 2000);
    expect(co.join("k")).toBeNull();
    const waiting = co.join("k")!;
    let done = false;
    void waiting.then(() => (done = true));
    await Bun.sleep(10);
    expect(done).toBe(false);
    co.release("k");
    await waiting;
    expect(done).toBe(true);
    expect(co.join("k")).toBeNull();
    co.release("k");
  });
  test("waits are bounded by the lock timeout", async () => {
    const co = new Coalescer(cacheOf(), 50);
    expect(co.join("k")).toBeNull();
    const t0 = performance.now();
    await co.join("k");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
  });
  test("a lock held elsewhere (another worker) makes this worker wait until it goes", async () => {
    const store = new SharedStore(SharedStore.allocate(2 * 1024 * 1024));
    const mine = new Coalescer(new HttpCache(store), 2000);
    // the other worker: its own SharedStore over the same buffer
    const theirs = new HttpCache(new SharedStore(store.buffer));
    expect(theirs.tryLock("k", 2000)).toBe(true);
    const w = mine.join("k")!;
    expect(w).not.toBeNull();
    let done = false;
    void w.then(() => (done = true));
    await Bun.sleep(20);
    expect(done).toBe(false);
    theirs.unlock("k");
    await w;
    expect(done).toBe(true);
  });
});
