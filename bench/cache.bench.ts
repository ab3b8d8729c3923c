/**
 * A cache HIT, layer by layer (issue 10 bench: "lookup HIT in the arena
 * < 1 µs, mitata, 10k and 1M entries"):
 *
 *   arena    SharedStore lookup of a present key, keys drawn at random over
 *            N entries (a prime stride, so the CPU caches don't hold the
 *            entry: at 1M entries the index and the ring are far larger than
 *            L3), ~1 KB body + ~200 B meta per entry. Each lookup takes a fresh
 *            key string (a fixed-width substring of one long string: 1M key
 *            strings on the heap would make every allocating line here pay
 *            for GC marking them, which a gateway's heap never holds);
 *            "peer: key" is that part alone.
 *   engine   HttpCache.lookup: the arena plus turning the stored bytes into
 *            an entry (headers, times): of a version this worker decoded
 *            before (memo.ts: the hot set), and over N keys at random (more
 *            than the memo holds: every lookup decodes and copies)
 *   handler  a whole HIT through the gateway's handler (no sockets), next to
 *            the same route without cache answering from a canned upstream
 *            (what a HIT replaces) and the floor (a Request in, a Response out)
 *
 *   bun bench/cache.bench.ts [--entries 10000,1000000]
 */
import { bench, do_not_optimize, group, run, summary } from "mitata";
import { encodeEntry } from "../src/cache/codec.ts";
import { makeEntry } from "../src/cache/entry.ts";
import { HttpCache } from "../src/cache/http-cache.ts";
import { primaryKey } from "../src/cache/keys.ts";
import { httpDate } from "../src/data/proxy/headers.ts";
import { type EntryView, SharedStore } from "../src/store/index.ts";
import { benchServer, cannedClient, localHandler } from "./handler-kit.ts";
import { option } from "./lib.ts";

const args = process.argv.slice(2);
const SIZES = option(args, "entries", "10000,1000000").split(",").map(Number);
const BODY = 1024;
const upstreamHeaders: [string, string][] = [
  ["server", "nginx"],
  ["date", httpDate()],
  ["content-type", "application/json"],
  ["cache-control", "public, max-age=3600"],
  ["etag", '"5f3c-1a2b3c"'],
  ["last-modified", "Thu, 03 Dec 2026 10:00:00 GMT"],
  ["vary", "accept-encoding"],
];
// The entry the cache would store for that response (no Vary here: the arena lookup is one probe).
const now = Date.now();
const entry = makeEntry(200, upstreamHeaders.filter(([k]) => k !== "vary"), now, now, { ttl: 0, staleWhileRevalidate: 0, staleIfError: 0 });
const meta = encodeEntry(entry);
const body = new Uint8Array(BODY).fill(120);

const keyOf = (i: number) => primaryKey(`http://127.0.0.1:8080/users/${String(i).padStart(7, "0")}?page=1`, "api");
const KEY_WIDTH = keyOf(0).length;
const stores: { n: number; store: SharedStore; keys: string }[] = [];
for (const n of SIZES) {
  // Room for every entry (key + meta + body + record header), plus the index.
  const bytes = Math.min(0x7fff_fff0, Math.ceil((n * (24 + 64 + meta.length + BODY + 8) * 1.1) / 8) * 8 + n * 100 + (1 << 20));
  const store = new SharedStore(SharedStore.allocate(bytes, { maxEntries: n }));
  const list: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = keyOf(i);
    if (!store.set(k, meta, body, 3_600_000)) throw new Error("arena too small for the bench");
    list.push(k);
  }
  stores.push({ n, store, keys: list.join("") });
}
console.log(`meta ${meta.length} B, body ${BODY} B; arenas: ${stores.map((s) => `${s.n} entries in ${(s.store.buffer.byteLength / 2 ** 20).toFixed(0)} MiB`).join(", ")}`);

const noHeader = () => null;
const version = (v: EntryView) => v.version;
for (const { n, store, keys } of stores) {
  let i = 0;
  // 7919 is prime and co-prime with n: every key, in an order the prefetcher can't follow.
  const next = () => keys.substring((i = (i + 7919) % n) * KEY_WIDTH, (i + 1) * KEY_WIDTH);
  const http = new HttpCache(store);
  const hot = keyOf(n >> 1);
  group(`${n} entries`, () => {
    bench("arena: SharedStore.get hit (copy out)", () => do_not_optimize(store.get(next())));
    bench("arena: SharedStore.read hit (in place)", () => do_not_optimize(store.read(next(), version)));
    bench("arena: SharedStore.get miss", () => do_not_optimize(store.get(`${next()}x`)));
    bench("engine: HttpCache.lookup hit, memoized version", () => do_not_optimize(http.lookup(hot, noHeader)));
    bench("engine: HttpCache.lookup hit, random (decode + copy)", () => do_not_optimize(http.lookup(next(), noHeader)));
    bench("peer: key", () => do_not_optimize(next()));
  });
}

// The handler: a cached route (HITs after the first request) and the same route without cache.
const cannedBody = new TextEncoder().encode('{"ok":true,"service":"bench-upstream"}'.padEnd(BODY, " "));
const canned = cannedClient(() => ({
  status: 200,
  statusText: "OK",
  headers: [...upstreamHeaders.filter(([k]) => k !== "vary"), ["content-length", String(cannedBody.length)], ["connection", "keep-alive"]],
  body: null,
  bodyBytes: cannedBody,
  contentLength: cannedBody.length,
}));
const configText = (route: string, extra = "") => `[server]
listen = "127.0.0.1:0"
access_log = false
${extra}
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:3001" }]
[[routes]]
name = "api"
path = "/api/*"
upstream = "u"
strip_prefix = "/api"
${route}
`;
const handlerFor = (text: string) => localHandler(text, canned).handle;
const cached = handlerFor(configText('cache = { ttl = "60s" }', '[cache]\nsize = "64MB"'));
const plain = handlerFor(configText(""));
const server = benchServer;
const headers = { host: "127.0.0.1:8080", "user-agent": "wrk/4.2", accept: "*/*" };
const request = () => new Request("http://127.0.0.1:8080/api/bench", { headers });
const first = await cached(request(), server);
const hit = await cached(request(), server);
if (!hit?.headers.get("cache-status")?.includes("hit")) throw new Error(`not a hit: ${hit?.headers.get("cache-status")} (first: ${first?.headers.get("cache-status")})`);

group("handler (1 KB body, no sockets)", () => {
  summary(() => {
    bench("floor: new Request + new Response", () => {
      request();
      return new Response(cannedBody, { status: 200, headers: [["content-type", "application/json"]] });
    });
    bench("cache HIT", async () => await cached(request(), server));
    bench("same route, no cache (canned upstream)", async () => await plain(request(), server));
  });
});

await run();
