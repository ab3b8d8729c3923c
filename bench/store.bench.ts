/**
 * SharedStore costs. Run: bun bench/store.bench.ts
 *
 * A 64 MiB arena with 20,000 entries of ~1 KB bodies (a warm cache), keys
 * shaped like the cache's (method + URL + variant). Budget (shared/DESIGN.md):
 * cache lookup hit < 1 µs. Peers in the same run: a Map lookup plus the same
 * 1 KB copy (what a per-worker Map cache costs, without sharing), and the
 * parts of a get (UTF-8 encode, wyhash, Date.now).
 */
import { bench, do_not_optimize, group, run, summary } from "mitata";
import { SharedStore } from "../src/store/index.ts";

const N = 20_000;
const store = new SharedStore(SharedStore.allocate(64 << 20));
const meta = new Uint8Array(200).fill(1);
const body = new Uint8Array(1024).fill(2);
const keys = Array.from({ length: N }, (_, i) => `GET https://api.example.com/users/${i}?page=1 ae=gzip`);
for (const k of keys) store.set(k, meta, body, 3_600_000);
const map = new Map<string, Uint8Array>();
for (const k of keys) map.set(k, new Uint8Array(1224));
let i = 0;
const next = () => keys[(i = (i + 7919) % N)]!;
const enc = new TextEncoder();
const scratch = new Uint8Array(256);

group("get (1 KB body + 200 B meta)", () => {
  summary(() => {
    bench("SharedStore.get hit", () => do_not_optimize(store.get(next())));
    bench("SharedStore.get miss", () => do_not_optimize(store.get(`${next()}x`)));
    bench("peer: Map.get + 1.2 KB slice", () => do_not_optimize(map.get(next())!.slice()));
  });
});

group("parts of a get", () => {
  bench("TextEncoder.encodeInto key", () => do_not_optimize(enc.encodeInto(next(), scratch)));
  bench("Bun.hash.wyhash key bytes", () => do_not_optimize(Bun.hash.wyhash(scratch.subarray(0, 50))));
  bench("Date.now()", () => do_not_optimize(Date.now()));
});

// Writes on their own arena, so the read figures above stay on a warm one.
const wstore = new SharedStore(SharedStore.allocate(64 << 20));
for (const k of keys) wstore.set(k, meta, body, 3_600_000);
let w = 0;
group("writes", () => {
  bench("set (replace, 1 KB)", () => do_not_optimize(wstore.set(next(), meta, body, 3_600_000)));
  bench("insertIfAbsent (present: refused)", () => do_not_optimize(wstore.insertIfAbsent(next(), meta, body, 3_600_000)));
  bench("insertIfAbsent new key + delete (idempotency lock)", () => {
    const k = `idem:${w++}`;
    wstore.insertIfAbsent(k, meta, new Uint8Array(0), 60_000);
    do_not_optimize(wstore.delete(k));
  });
});

await run();
console.log(store.stats(), wstore.stats());
