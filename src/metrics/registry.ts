/**
 * Metrics counted in one SharedArrayBuffer for the whole process: every worker
 * and the main thread add into the same cells with Atomics, so one scrape
 * (src/metrics/exposition.ts) reads the whole gateway (DESIGN.md "State").
 *
 * Layout (all offsets in the header, so every thread agrees without talking):
 *   header   Int32[16]   sizes, bump pointers, overflow count
 *   table    Int32[T]    open-addressing index: 0 empty, else series+1 (published last, by CAS)
 *   series   Int32[S*5]  per series: key offset, key length, payload length, cell offset, width
 *   keys     Uint8[K]    series keys (UTF-8), then the family descriptor payload for family records
 *   cells    8-byte units: a counter is (lo, hi) Uint32 words added with carry; a gauge is a
 *            Float64 "set" value plus an Int32 delta; a histogram is its buckets, +Inf, then the sum
 *
 * Inserting a series is lock-free: allocate a record and its cells with
 * Atomics.add on the bump pointers, write the key, then CAS the table cell
 * from 0; a thread that loses the race to the same key drops its record (a
 * few bytes, never reused) and uses the winner's. Each thread caches
 * key → cell in a Map, so the shared table is probed once per series per
 * thread. Label cardinality is bounded by the series capacity: past it, new
 * label sets go to a dropped handle and gateway_metrics_series_dropped_total counts them.
 *
 * Getting the registry (policies, plugins): in a worker, `metricsRegistry()`
 * returns the registry on the gateway's shared buffer once the metrics policy
 * set up its snapshot (always before any request hook runs); declare metrics in
 * `setup()`/`create()` and keep the handles, e.g.
 *
 *   const hits = metricsRegistry().counter("gateway_tenant_hits_total", "Requests per tenant", ["tenant"]);
 *   const acme = hits.labels(["acme"]);   // bound once, at load
 *   acme.inc();                            // per request: one Atomics.add
 *
 * Declaring the same name again (in any thread) returns the same metric;
 * declaring it with another type, labels or buckets throws.
 */

export interface Counter {
  inc(labelValues?: readonly string[], by?: number): void;
  /** The series for these label values, bound once (hot paths: no lookup per call). */
  labels(labelValues?: readonly string[]): BoundCounter;
}
export interface BoundCounter {
  inc(by?: number): void;
}
export interface Gauge {
  set(labelValues: readonly string[] | undefined, v: number): void;
  inc(labelValues?: readonly string[], by?: number): void;
  labels(labelValues?: readonly string[]): BoundGauge;
}
export interface BoundGauge {
  set(v: number): void;
  inc(by?: number): void;
}
export interface Histogram {
  observe(labelValues: readonly string[] | undefined, seconds: number): void;
  labels(labelValues?: readonly string[]): BoundHistogram;
}
export interface BoundHistogram {
  observe(seconds: number): void;
}
export interface MetricsRegistry {
  counter(name: string, help: string, labelNames?: readonly string[]): Counter;
  gauge(name: string, help: string, labelNames?: readonly string[]): Gauge;
  histogram(name: string, help: string, labelNames?: readonly string[], buckets?: readonly number[]): Histogram;
}

export type MetricType = "counter" | "gauge" | "histogram";

/** A metric family as stored in shared memory, so the scraping thread knows metrics declared only in workers. */
export interface FamilyDescriptor {
  type: MetricType;
  help: string;
  labels: string[];
  buckets: number[];
}

/** OpenTelemetry HTTP semantic conventions' duration buckets (http.server.request.duration), seconds. */
export const HTTP_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

const MAGIC = 0x4d545231; // "MTR1"
const H_MAGIC = 0;
const H_TABLE = 1;
const H_SERIES = 2;
const H_KEYS = 3;
const H_CELLS = 4;
const H_NEXT_SERIES = 5;
const H_NEXT_KEY = 6;
const H_NEXT_CELL = 7;
const H_DROPPED = 8;
const HEADER_INTS = 16;
const SERIES_INTS = 5;
const TWO32 = 4294967296;
/** Separates name and label values in a series key; a family record's key starts with it. */
const SEP = "\u0000";

export interface RegistrySizes {
  /** Series (label sets, families included). */
  series: number;
  /** 8-byte cells for values. */
  cells: number;
  /** Bytes of keys and descriptors. */
  keyBytes: number;
}

export const DEFAULT_SIZES: RegistrySizes = { series: 8192, cells: 131072, keyBytes: 1 << 20 };

function layout(s: RegistrySizes) {
  let table = 1;
  while (table < s.series * 2) table <<= 1;
  const tableOff = HEADER_INTS * 4;
  const seriesOff = tableOff + table * 4;
  const keysOff = seriesOff + s.series * SERIES_INTS * 4;
  const cellsOff = (keysOff + s.keyBytes + 7) & ~7;
  return { table, tableOff, seriesOff, keysOff, cellsOff, total: cellsOff + s.cells * 8 };
}

/** A zeroed, initialised metrics buffer (main thread, once per process: metrics live across reloads). */
export function allocateMetrics(sizes: RegistrySizes = DEFAULT_SIZES): SharedArrayBuffer {
  const l = layout(sizes);
  const sab = new SharedArrayBuffer(l.total);
  const h = new Int32Array(sab, 0, HEADER_INTS);
  h[H_TABLE] = l.table;
  h[H_SERIES] = sizes.series;
  h[H_KEYS] = sizes.keyBytes;
  h[H_CELLS] = sizes.cells;
  Atomics.store(h, H_MAGIC, MAGIC);
  return sab;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function hashBytes(b: Uint8Array, len: number): number {
  let x = 0x811c9dc5;
  for (let i = 0; i < len; i++) x = Math.imul(x ^ b[i]!, 0x01000193);
  return x >>> 0;
}

/** Views of one metrics buffer: the shared table every thread reads and writes. */
export class SharedMetrics {
  readonly buffer: SharedArrayBuffer;
  readonly header: Int32Array;
  readonly table: Int32Array;
  readonly series: Int32Array;
  readonly keys: Uint8Array;
  /** Cells as 32-bit words (counters, deltas) and as float64 (gauge values). */
  readonly words: Uint32Array;
  readonly ints: Int32Array;
  readonly floats: Float64Array;
  readonly #mask: number;
  /** This thread's key → cell offset (-1: dropped). */
  readonly #local = new Map<string, number>();

  constructor(buffer: SharedArrayBuffer) {
    const h = new Int32Array(buffer, 0, HEADER_INTS);
    if (Atomics.load(h, H_MAGIC) !== MAGIC) throw new Error("not a metrics buffer");
    const sizes = { series: h[H_SERIES]!, keyBytes: h[H_KEYS]!, cells: h[H_CELLS]! };
    const l = layout(sizes);
    this.buffer = buffer;
    this.header = h;
    this.table = new Int32Array(buffer, l.tableOff, l.table);
    this.series = new Int32Array(buffer, l.seriesOff, sizes.series * SERIES_INTS);
    this.keys = new Uint8Array(buffer, l.keysOff, sizes.keyBytes);
    this.words = new Uint32Array(buffer, l.cellsOff, sizes.cells * 2);
    this.ints = new Int32Array(buffer, l.cellsOff, sizes.cells * 2);
    this.floats = new Float64Array(buffer, l.cellsOff, sizes.cells);
    this.#mask = l.table - 1;
  }

  /** Series over capacity, counted instead of stored. */
  get dropped(): number {
    return Atomics.load(this.header, H_DROPPED);
  }

  /**
   * The cell offset (in 8-byte units) of the series `key` with `width` cells,
   * inserted if absent; -1 when the table is full. `payload` is stored after
   * the key (family descriptors). Returns an existing series' offset as is.
   */
  slot(key: string, width: number, payload = ""): number {
    const cached = this.#local.get(key);
    if (cached !== undefined) return cached;
    const off = this.#insert(key, width, payload);
    this.#local.set(key, off);
    return off;
  }

  #insert(key: string, width: number, payload: string): number {
    const kb = encoder.encode(key);
    const hash = hashBytes(kb, kb.length);
    let mine = -1;
    for (let probe = 0, i = hash & this.#mask; probe <= this.#mask; probe++, i = (i + 1) & this.#mask) {
      let cell = Atomics.load(this.table, i);
      if (cell === 0) {
        if (mine < 0) {
          mine = this.#allocate(kb, width, payload);
          if (mine < 0) {
            Atomics.add(this.header, H_DROPPED, 1);
            return -1;
          }
        }
        const was = Atomics.compareExchange(this.table, i, 0, mine + 1);
        if (was === 0) return this.series[mine * SERIES_INTS + 3]!;
        cell = was;
      }
      if (this.#keyEquals(cell - 1, kb)) return this.series[(cell - 1) * SERIES_INTS + 3]!;
    }
    Atomics.add(this.header, H_DROPPED, 1);
    return -1;
  }

  #allocate(kb: Uint8Array, width: number, payload: string): number {
    const h = this.header;
    const pb = payload === "" ? null : encoder.encode(payload);
    const bytes = kb.length + (pb?.length ?? 0);
    const idx = Atomics.add(h, H_NEXT_SERIES, 1);
    if (idx >= h[H_SERIES]!) return -1;
    const keyOff = Atomics.add(h, H_NEXT_KEY, bytes);
    if (keyOff + bytes > h[H_KEYS]!) return -1;
    const cellOff = Atomics.add(h, H_NEXT_CELL, width);
    if (cellOff + width > h[H_CELLS]!) return -1;
    this.keys.set(kb, keyOff);
    if (pb) this.keys.set(pb, keyOff + kb.length);
    const s = idx * SERIES_INTS;
    this.series[s] = keyOff;
    this.series[s + 1] = kb.length;
    this.series[s + 2] = pb?.length ?? 0;
    this.series[s + 3] = cellOff;
    this.series[s + 4] = width;
    return idx;
  }

  #keyEquals(idx: number, kb: Uint8Array): boolean {
    const s = idx * SERIES_INTS;
    if (this.series[s + 1] !== kb.length) return false;
    const off = this.series[s]!;
    for (let j = 0; j < kb.length; j++) if (this.keys[off + j] !== kb[j]) return false;
    return true;
  }

  /** Every published series: its key, payload and cells (scrape side). */
  *entries(): Generator<{ key: string; payload: string; cell: number; width: number }> {
    for (let i = 0; i < this.table.length; i++) {
      const c = Atomics.load(this.table, i);
      if (c === 0) continue;
      const s = (c - 1) * SERIES_INTS;
      const off = this.series[s]!;
      const kl = this.series[s + 1]!;
      const pl = this.series[s + 2]!;
      yield {
        key: decoder.decode(this.keys.subarray(off, off + kl)),
        payload: pl === 0 ? "" : decoder.decode(this.keys.subarray(off + kl, off + kl + pl)),
        cell: this.series[s + 3]!,
        width: this.series[s + 4]!,
      };
    }
  }

  /** Add a non-negative integer to the 64-bit counter at cell `c`. */
  add(c: number, n: number): void {
    const w = this.words;
    const i = c << 1;
    if (n < TWO32) {
      const old = Atomics.add(w, i, n);
      if (old + n >= TWO32) Atomics.add(w, i + 1, 1);
    } else {
      const lo = n % TWO32;
      const old = Atomics.add(w, i, lo);
      Atomics.add(w, i + 1, Math.floor(n / TWO32) + (old + lo >= TWO32 ? 1 : 0));
    }
  }

  /** The 64-bit counter at cell `c` (a read racing a carry retries). */
  read(c: number): number {
    const w = this.words;
    const i = c << 1;
    for (;;) {
      const hi = Atomics.load(w, i + 1);
      const lo = Atomics.load(w, i);
      if (Atomics.load(w, i + 1) === hi) return hi * TWO32 + lo;
    }
  }
}

/** A family record's key: SEP + name, so no series key (name first) can collide with it. */
export function familyKey(name: string): string {
  return SEP + name;
}

/** A series key: name, then each label value, SEP-separated (a NUL inside a value is replaced). */
export function seriesKey(name: string, values: readonly string[] | undefined): string {
  if (values === undefined || values.length === 0) return name;
  let k = name;
  for (const v of values) k += SEP + (v.indexOf(SEP) >= 0 ? v.replaceAll(SEP, "\uFFFD") : v);
  return k;
}

export function splitSeriesKey(key: string): { name: string; values: string[] } {
  const parts = key.split(SEP);
  return { name: parts[0]!, values: parts.slice(1) };
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const NOOP_COUNTER: BoundCounter = { inc() {} };
const NOOP_GAUGE: BoundGauge = { set() {}, inc() {} };
const NOOP_HISTOGRAM: BoundHistogram = { observe() {} };

/** The registry over one shared buffer: declares families and hands out series handles. */
export class SharedRegistry implements MetricsRegistry {
  readonly shared: SharedMetrics;

  constructor(buffer: SharedArrayBuffer | SharedMetrics) {
    this.shared = buffer instanceof SharedMetrics ? buffer : new SharedMetrics(buffer);
  }

  #declare(name: string, d: FamilyDescriptor): void {
    if (!NAME_RE.test(name)) throw new Error(`metric name "${name}" is not a valid Prometheus name`);
    for (const l of d.labels) {
      if (!LABEL_RE.test(l) || l.startsWith("__")) throw new Error(`metric ${name}: label name "${l}" is not valid`);
      if (d.type === "histogram" && l === "le") throw new Error(`metric ${name}: a histogram cannot have a label "le"`);
    }
    const payload = JSON.stringify(d);
    const m = this.shared;
    if (m.slot(familyKey(name), 0, payload) < 0) return;
    // Another thread may have declared it first: it must agree.
    for (const e of m.entries()) {
      if (e.key === familyKey(name)) {
        if (e.payload !== payload) throw new Error(`metric ${name} is already declared with another type, help, labels or buckets`);
        return;
      }
    }
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    this.#declare(name, { type: "counter", help, labels: [...labelNames], buckets: [] });
    const m = this.shared;
    const n = labelNames.length;
    const bind = (values: readonly string[] | undefined): BoundCounter => {
      checkArity(name, n, values);
      const c = m.slot(seriesKey(name, values), 1);
      if (c < 0) return NOOP_COUNTER;
      return { inc: (by = 1) => m.add(c, by < 0 ? 0 : Math.round(by)) };
    };
    return {
      labels: bind,
      inc(values, by = 1) {
        checkArity(name, n, values);
        const c = m.slot(seriesKey(name, values), 1);
        if (c >= 0) m.add(c, by < 0 ? 0 : Math.round(by));
      },
    };
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    this.#declare(name, { type: "gauge", help, labels: [...labelNames], buckets: [] });
    const m = this.shared;
    const n = labelNames.length;
    // Two cells: the value set() wrote (float64), then a signed 32-bit delta inc() adds to.
    const cell = (values: readonly string[] | undefined) => (checkArity(name, n, values), m.slot(seriesKey(name, values), 2));
    const bind = (values: readonly string[] | undefined): BoundGauge => {
      const c = cell(values);
      if (c < 0) return NOOP_GAUGE;
      return {
        set: (v) => setGauge(m, c, v),
        inc: (by = 1) => void Atomics.add(m.ints, (c + 1) << 1, Math.round(by)),
      };
    };
    return {
      labels: bind,
      set(values, v) {
        const c = cell(values);
        if (c >= 0) setGauge(m, c, v);
      },
      inc(values, by = 1) {
        const c = cell(values);
        if (c >= 0) Atomics.add(m.ints, (c + 1) << 1, Math.round(by));
      },
    };
  }

  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets: readonly number[] = HTTP_BUCKETS): Histogram {
    for (let i = 0; i < buckets.length; i++) {
      if (!Number.isFinite(buckets[i]!) || (i > 0 && buckets[i]! <= buckets[i - 1]!)) throw new Error(`metric ${name}: buckets must be finite and increasing`);
    }
    this.#declare(name, { type: "histogram", help, labels: [...labelNames], buckets: [...buckets] });
    const m = this.shared;
    const n = labelNames.length;
    const bounds = Float64Array.from(buckets);
    // Cells: one count per bucket (not cumulative: one add per observation), +Inf, then the sum in microseconds.
    const width = bounds.length + 2;
    const bind = (values: readonly string[] | undefined): BoundHistogram => {
      checkArity(name, n, values);
      const c = m.slot(seriesKey(name, values), width);
      if (c < 0) return NOOP_HISTOGRAM;
      return { observe: (s) => observe(m, c, bounds, s) };
    };
    return {
      labels: bind,
      observe(values, s) {
        checkArity(name, n, values);
        const c = m.slot(seriesKey(name, values), width);
        if (c >= 0) observe(m, c, bounds, s);
      },
    };
  }
}

function checkArity(name: string, n: number, values: readonly string[] | undefined): void {
  if ((values?.length ?? 0) !== n) throw new Error(`metric ${name} takes ${n} label values, got ${values?.length ?? 0}`);
}

function setGauge(m: SharedMetrics, c: number, v: number): void {
  // set() replaces the value: the delta inc() accumulated is folded away first.
  Atomics.store(m.ints, (c + 1) << 1, 0);
  m.floats[c] = v;
}

function observe(m: SharedMetrics, c: number, bounds: Float64Array, seconds: number): void {
  if (!(seconds >= 0)) seconds = 0;
  let b = 0;
  const n = bounds.length;
  while (b < n && seconds > bounds[b]!) b++;
  m.add(c + b, 1);
  m.add(c + n + 1, Math.round(seconds * 1e6));
}

/** A gauge's current value (set value plus delta). */
export function readGauge(m: SharedMetrics, c: number): number {
  return m.floats[c]! + Atomics.load(m.ints, (c + 1) << 1);
}

let current: SharedRegistry | null = null;

/**
 * This thread's registry on the gateway's shared metrics buffer. In a worker
 * it is attached by the metrics policy's setup() before any route is
 * compiled; before that (unit tests, a script) a private buffer is used.
 */
export function metricsRegistry(): SharedRegistry {
  return (current ??= new SharedRegistry(allocateMetrics({ series: 1024, cells: 16384, keyBytes: 65536 })));
}

/** Point this thread's registry at `buffer` (the metrics policy's setup, the main thread at start). */
export function attachMetrics(buffer: SharedArrayBuffer): SharedRegistry {
  if (current === null || current.shared.buffer !== buffer) current = new SharedRegistry(buffer);
  return current;
}
