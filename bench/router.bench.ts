/**
 * Route lookup: our radix router against memoirist, find-my-way and rou3
 * (each in its default tree-walk mode and, where it has one, its compiled
 * mode), on the same 200-route table (bench/fixtures/routes.ts).
 *
 *   bun bench/router.bench.ts            # all groups
 *   bun bench/router.bench.ts ours       # only benches whose name matches
 *
 * Three ways of handing over the path:
 * - "const": the same string objects every time (what router READMEs bench);
 *   their hash is cached after the first lookup.
 * - "fresh": a new substring of a full URL per lookup, as a server slices
 *   req.url per request. The "slice only" row is that cost alone, subtracted
 *   before the ratios are taken.
 * - "varied ids": fresh, and every param value differs from one pass to the
 *   next (64 variants of each request), as real traffic's ids do. JSC's
 *   String#split is far cheaper on a path it split recently (measured ~10 ns
 *   against ~200 ns), which flatters a router that splits while the same
 *   25 miss paths repeat.
 * Every router is first checked to return the expected route for every
 * request, so all rows time the same answers.
 */

import FindMyWay from "find-my-way";
import { Memoirist } from "memoirist";
import { bench, do_not_optimize, group, run } from "mitata";
import { addRoute, createRouter, findRoute } from "rou3";
import { compileRouter } from "rou3/compiler";
import { Router } from "../src/router/radix.ts";
import { type BenchRequest, misses, paramHits, routes, staticHits, withVariedIds } from "./fixtures/routes.ts";

type Lookup = (method: string, path: string) => number | undefined;

function ours(): Lookup {
  const r = new Router<number>();
  routes.forEach((route, i) => r.add(route.path, route.methods, [], i));
  r.compile();
  return (method, path) => r.find(method, "api.example.com", path)?.value;
}

function memoirist(): Lookup {
  const r = new Memoirist<number>();
  routes.forEach((route, i) => route.methods.forEach((m) => r.add(m, route.path, i)));
  return (method, path) => r.find(method, path)?.store;
}

function findMyWay(compiled: boolean): Lookup {
  const r = FindMyWay();
  const noop = () => {};
  // find-my-way turns a falsy store into null: store index + 1.
  routes.forEach((route, i) => r.on(route.methods as FindMyWay.HTTPMethod[], route.path, noop, i + 1));
  if (compiled) r.compile();
  return (method, path) => {
    const store = r.find(method as FindMyWay.HTTPMethod, path)?.store as number | undefined;
    return store === undefined ? undefined : store - 1;
  };
}

function rou3(compiled: boolean): Lookup {
  const ctx = createRouter<number>();
  // rou3 spells a trailing catch-all "**" ("*" is one segment there).
  routes.forEach((route, i) => route.methods.forEach((m) => addRoute(ctx, m, route.path.replace(/\*$/, "**"), i)));
  if (!compiled) return (method, path) => findRoute(ctx, method, path)?.data;
  const match = compileRouter(ctx);
  return (method, path) => match(method, path)?.data;
}

const candidates: [string, Lookup][] = [
  ["ours", ours()],
  ["memoirist", memoirist()],
  ["find-my-way", findMyWay(false)],
  ["find-my-way compiled", findMyWay(true)],
  ["rou3", rou3(false)],
  ["rou3 compiled", rou3(true)],
];

const VARIANTS = 64;
const sets: [string, BenchRequest[]][] = [
  ["static hits", staticHits],
  ["param hits", paramHits],
  ["misses", misses],
];
const variedSets: [string, BenchRequest[], number][] = [
  ["param hits", withVariedIds(paramHits, VARIANTS), paramHits.length],
  ["misses", withVariedIds(misses, VARIANTS), misses.length],
];

// The varied pools are checked through copies of their strings, so no router
// caches anything keyed by the pool's own string objects before the timing.
const copy = (s: string) => (" " + s).slice(1);
for (const [name, lookup] of candidates) {
  for (const [, list] of [...sets, ...variedSets]) {
    for (const req of list) {
      const got = lookup(req.method, copy(req.path)) ?? -1;
      if (got !== req.route) {
        throw new Error(`${name}: ${req.method} ${req.path} gave route ${got}, expected ${req.route}`);
      }
    }
  }
}

// Warm up every router on every set before timing: a compiled matcher is one
// large function per subtree, which JSC's optimizing tier takes a second or
// two to compile in the background on a busy machine; time the steady state.
const warmUntil = performance.now() + 2000;
while (performance.now() < warmUntil) {
  for (const [, lookup] of candidates) {
    for (const [, list] of sets) for (const req of list) lookup(req.method, req.path);
  }
}
await Bun.sleep(500);

/** Each request as a full URL plus where its path is, for the "fresh" mode. */
interface UrlRequest {
  method: string;
  url: string;
  start: number;
  end: number;
}
const asUrls = (list: BenchRequest[]): UrlRequest[] =>
  list.map((r) => {
    const url = `http://api.example.com${r.path}?page=2`;
    return { method: r.method, url, start: 22, end: 22 + r.path.length };
  });

const filter = process.argv[2];
/** Every bench in registration order (mitata reports them in that order): its group label and lookups per iteration. */
const registered: { label: string; count: number; name: string; fn: () => void }[] = [];
const add = (label: string, count: number, name: string, fn: () => void) => {
  registered.push({ label, count, name, fn });
  // Setup, not timed: run this workload for a while and give JSC's background
  // compiler a moment, so each row is measured in its own steady state (a
  // router that just served only static paths may first deoptimize on params).
  bench(name, function* () {
    const until = performance.now() + 400;
    while (performance.now() < until) fn();
    Bun.sleepSync(100);
    yield fn;
  });
};
const wanted = (name: string) => !filter || name.includes(filter);
/** The candidates, rotated by one more place for each group, so no router always runs first after a group change. */
let rotation = 0;
const rotated = () => {
  const k = rotation++ % candidates.length;
  return [...candidates.slice(k), ...candidates.slice(0, k)].filter(([name]) => wanted(name));
};

for (const [setName, list] of sets) {
  const urls = asUrls(list);
  group(`${setName} (const), ${list.length} lookups per iteration`, () => {
    for (const [name, lookup] of rotated()) {
      add(`${setName} (const)`, list.length, name, () => {
        for (let i = 0; i < list.length; i++) do_not_optimize(lookup(list[i]!.method, list[i]!.path));
      });
    }
  });
  group(`${setName} (fresh), ${list.length} lookups per iteration`, () => {
    add(`${setName} (fresh)`, list.length, "slice only", () => {
      for (let i = 0; i < urls.length; i++) do_not_optimize(urls[i]!.url.slice(urls[i]!.start, urls[i]!.end));
    });
    for (const [name, lookup] of rotated()) {
      add(`${setName} (fresh)`, list.length, name, () => {
        for (let i = 0; i < urls.length; i++) {
          const u = urls[i]!;
          do_not_optimize(lookup(u.method, u.url.slice(u.start, u.end)));
        }
      });
    }
  });
}

for (const [setName, pool, perIteration] of variedSets) {
  const urls = asUrls(pool);
  const label = `${setName} (varied ids)`;
  group(`${label}, ${perIteration} lookups per iteration`, () => {
    let at = 0; // each iteration takes the next `perIteration` requests of the pool
    add(label, perIteration, "slice only", () => {
      for (let i = 0; i < perIteration; i++) {
        const u = urls[at++]!;
        if (at === urls.length) at = 0;
        do_not_optimize(u.url.slice(u.start, u.end));
      }
    });
    for (const [name, lookup] of rotated()) {
      add(label, perIteration, name, () => {
        for (let i = 0; i < perIteration; i++) {
          const u = urls[at++]!;
          if (at === urls.length) at = 0;
          do_not_optimize(lookup(u.method, u.url.slice(u.start, u.end)));
        }
      });
    }
  });
}

const { benchmarks } = await run();

// Per lookup: the median (p50) and the fastest (min) iteration; the machine
// is shared, so the mean mostly measures other people's load. Ratios are a
// peer's time over ours (> 1: ours is faster), with the "slice only" cost of
// the group subtracted first.
type Row = { label: string; count: number; name: string; p50: number; min: number };
const rows: Row[] = benchmarks.map((trial, i) => {
  const stats = trial.runs[0]?.stats;
  return { ...registered[i]!, p50: stats?.p50 ?? NaN, min: stats?.min ?? NaN };
});

// mitata times one bench after another, so load that comes and goes on a
// shared machine lands on whichever router runs at the time. This second
// pass interleaves: ROUNDS rounds, each timing every bench of a group for
// ~2 ms in turn, keeping each bench's fastest round.
const ROUNDS = 40;
const interleaved: Row[] = rows.map((r) => ({ ...r, p50: NaN, min: Infinity }));
for (const label of new Set(rows.map((r) => r.label))) {
  const members = rows.flatMap((r, i) => (r.label === label ? [i] : []));
  for (let round = 0; round < ROUNDS; round++) {
    for (const i of members) {
      const { fn } = registered[i]!;
      const reps = Math.max(1, Math.ceil(2e6 / rows[i]!.p50));
      const t0 = Bun.nanoseconds();
      for (let k = 0; k < reps; k++) fn();
      interleaved[i]!.min = Math.min(interleaved[i]!.min, (Bun.nanoseconds() - t0) / reps);
    }
  }
}

function table(data: Row[], columns: ("p50" | "min")[], head: string[]): string {
  const lines = [`| set | router | ${head.join(" | ")} |`, `| --- | --- |${head.map(() => " ---: |").join("")}`];
  const order = candidates.map(([n]) => n);
  for (const label of new Set(data.map((r) => r.label))) {
    const same = data.filter((r) => r.label === label).sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
    const slice = same.find((r) => r.name === "slice only");
    const ours = same.find((r) => r.name === "ours");
    for (const row of same) {
      const cells = columns.map((k) => (row[k] / row.count).toFixed(1));
      const ratios = columns.map((k) =>
        ours !== undefined && row.name !== "slice only" ? ((row[k] - (slice?.[k] ?? 0)) / (ours[k] - (slice?.[k] ?? 0))).toFixed(2) : "");
      lines.push(`| ${label} | ${row.name} | ${[...cells, ...ratios].join(" | ")} |`);
    }
  }
  return lines.join("\n");
}

console.log("\nmitata, one bench after another:\n");
console.log(table(rows, ["p50", "min"], ["p50 ns/lookup", "min ns/lookup", "peer / ours (p50)", "peer / ours (min)"]));
console.log(`\ninterleaved, fastest of ${ROUNDS} rounds:\n`);
console.log(table(interleaved, ["min"], ["ns/lookup", "peer / ours"]));
