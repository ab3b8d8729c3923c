import type { GatewayConfig, RedisConfig } from "../../config/types.ts";
import { foldRemoteInFlight, localInFlight } from "../algorithms/concurrency.ts";
import { foldWindowWord } from "../algorithms/fixed-window.ts";
import { foldGcra } from "../algorithms/gcra.ts";
import type { CompiledLimit } from "../algorithms/types.ts";
import { hashHex } from "../hash.ts";
import { buildRegistry, type LimitRegistry } from "../registry.ts";
import {
  attachLimiterTable,
  H_LIVE_INSTANCES,
  H_REDIS_STATE,
  H_SYNC_ROUNDS,
  HEADER_WORDS,
  markDirty,
  REDIS_DOWN,
  REDIS_UP,
  slotHoldsKey,
  W_DELTA0,
  W_DELTA1,
  W_META,
  W_STATE0,
  WORDS_PER_SLOT,
  type LimiterTable,
} from "../slot-table.ts";
import { createRedisClient, type RedisClient } from "../../util/redis.ts";

/**
 * The main thread's Redis loop.
 *
 * Every mode with [redis]: a heartbeat in `<key_prefix>instances` (a ZSET of
 * instance id → last beat, ms); the count of live instances goes to the slot
 * table header, where workers read it for `on_error = "local"` (limit ÷ live
 * instances, 1 if never seen).
 *
 * mode = "sync": workers decide locally and count admissions in each slot's
 * delta words (lock-free Atomics.add) and flag the slot in the dirty bitmap.
 * Every sync_interval this loop takes the dirty slots' deltas (Atomics.exchange
 * to 0), pushes them and pulls cluster totals in one round trip, and folds the
 * totals into the local slots (counts only ever rise):
 *   fixed/sliding: INCRBY <p>rl:<id>:h<hash>:<window index> → cluster count of the window
 *   token/leaky:   INCRBY <p>rl:<id>:h<hash> → cumulative admissions; the growth not
 *                  ours is applied to the local TAT as remote admissions
 *   concurrency:   HSET <p>rl:<id>:h<hash> <instance> "<in-flight>:<ms>"; the others'
 *                  fresh fields are summed into the slot's remote word
 * Keys are the 64-bit key hash (hex): the slot table keeps no key text, and
 * the hash seeds are derived from key_prefix in sync mode so every instance
 * names a key alike. Every key has a PEXPIRE.
 *
 * Every command names one key (no MULTI, no explicit pipeline), so the loop
 * works on a Redis Cluster as on one server: ioredis auto-pipelining sends the
 * commands issued in one tick as one batch per node, still one round trip.
 *
 * Over-admission bound (sync): an instance learns of the others' admissions
 * one round late at most, so beyond the limit the cluster admits at most what
 * the instances admit between two rounds:
 *   excess ≤ Σ over instances of admissions in (sync_interval + round trip)
 *          ≈ per-instance request rate × (sync_interval + RTT) × instances,
 * and never more than (instances − 1) × limit. A key this instance has not seen
 * yet is learned at its first sync round, so the same bound covers restarts.
 *
 * When a round fails (Redis down, timeout), the deltas Redis did not confirm
 * are put back so they are pushed when Redis returns, and the header says "down": workers then
 * apply on_error (local share / allow / deny) until a round succeeds again.
 */

export interface LimiterSync {
  stop(): Promise<void>;
}

export interface SyncOptions {
  now?: () => number;
  /** Unique per gateway process; default random. */
  instanceId?: string;
  /**
   * Redis state after a round, when it changed; `first` for the first round's
   * result (its failure may only be the connection still being made).
   */
  onStateChange?(up: boolean, first: boolean): void;
  /** After every round: whether Redis confirmed it, and how long it took (ms). */
  onRound?(ok: boolean, tookMs: number): void;
}

interface Taken {
  slot: number;
  a: number;
  b: number;
  lim: CompiledLimit;
  index: number;
  d0: number;
  d1: number;
  /** Which delta words Redis confirmed (bit 0: d0, bit 1: d1); the rest go back. */
  pushed: number;
  /** The reply to fold: the current window's or bucket's total, or the concurrency hash. */
  total: unknown;
  /** Windows: the previous window's total (null when not read). */
  prevTotal: unknown;
  gcraKey?: string;
}

/** Heartbeat period in strict mode (sync mode beats every round). */
const STRICT_BEAT_MS = 1000;

export function startLimiterSync(config: GatewayConfig, shared: SharedArrayBuffer, opts: SyncOptions = {}): LimiterSync {
  const cfg = config.redis;
  if (!cfg) return { stop: async () => {} };
  const table = attachLimiterTable(shared);
  const registry = buildRegistry(config);
  const now = opts.now ?? Date.now;
  const instanceId = opts.instanceId ?? crypto.randomUUID();
  const redis = createRedisClient(cfg, "gateway-limiter-sync");
  const interval = cfg.mode === "sync" ? cfg.sync_interval : Math.max(cfg.sync_interval, STRICT_BEAT_MS);
  const deadAfter = Math.max(10 * interval, 3000);
  const gcraSeen = new Map<string, { total: number; at: number }>();
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let running: Promise<void> = Promise.resolve();

  const tick = async () => {
    const started = performance.now();
    let ok = false;
    try {
      ok = cfg.mode === "sync" ? await syncRound(table, registry, redis, cfg, instanceId, now(), deadAfter, gcraSeen) : await beatOnly(table, redis, cfg, instanceId, now(), deadAfter);
    } catch {
      ok = false; // never let the loop die: the next round retries
    }
    const was = Atomics.exchange(table.i32, H_REDIS_STATE, ok ? REDIS_UP : REDIS_DOWN);
    if (was !== (ok ? REDIS_UP : REDIS_DOWN)) opts.onStateChange?.(ok, was !== REDIS_UP && was !== REDIS_DOWN);
    Atomics.add(table.i32, H_SYNC_ROUNDS, 1);
    opts.onRound?.(ok, performance.now() - started);
    if (gcraSeen.size > 0 && Atomics.load(table.i32, H_SYNC_ROUNDS) % 100 === 0) pruneSeen(gcraSeen, now(), deadAfter * 100);
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick().finally(schedule);
    }, interval);
  };
  running = tick().finally(schedule);

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running.catch(() => {});
      redis.disconnect();
    },
  };
}

function pruneSeen(seen: Map<string, { total: number; at: number }>, now: number, maxAge: number): void {
  for (const [k, v] of seen) if (now - v.at > maxAge) seen.delete(k);
}

/** Beat and count live instances; resolves the count, rejects when Redis failed. */
async function beat(redis: RedisClient, cfg: RedisConfig, id: string, now: number, deadAfter: number): Promise<number> {
  const key = cfg.key_prefix + "instances";
  const [, , live] = await Promise.all([
    redis.zadd(key, now, id),
    redis.zremrangebyscore(key, "-inf", now - deadAfter),
    redis.zcard(key),
    redis.pexpire(key, deadAfter * 2),
  ]);
  return Number(live) || 1;
}

async function beatOnly(table: LimiterTable, redis: RedisClient, cfg: RedisConfig, id: string, now: number, deadAfter: number): Promise<boolean> {
  if (redis.status !== "ready") return false;
  const live = await beat(redis, cfg, id, now, deadAfter).catch(() => 0);
  if (live === 0) return false;
  Atomics.store(table.i32, H_LIVE_INSTANCES, live);
  return true;
}

/** Take every dirty slot's deltas (the bitmap and the delta words are reset as they are read). */
function takeDirty(table: LimiterTable, registry: LimitRegistry, now: number): Taken[] {
  const i32 = table.i32;
  const taken: Taken[] = [];
  const words = table.capacity >>> 5;
  for (let w = 0; w < words; w++) {
    if (i32[table.dirtyBase + w] === 0) continue;
    let bits = Atomics.exchange(i32, table.dirtyBase + w, 0);
    while (bits !== 0) {
      const bit = 31 - Math.clz32(bits & -bits);
      bits &= bits - 1;
      const slot = (w << 5) | bit;
      const base = HEADER_WORDS + slot * WORDS_PER_SLOT;
      const lim = registry.byIndex[Atomics.load(i32, base + W_META)];
      if (!lim) continue;
      const a = Atomics.load(i32, base);
      const b = Atomics.load(i32, base + 1);
      const d0 = Atomics.exchange(i32, base + W_DELTA0, 0);
      const d1 = Atomics.exchange(i32, base + W_DELTA1, 0);
      taken.push({ slot, a, b, lim, index: Math.floor(now / lim.windowMs), d0, d1, pushed: 0, total: null, prevTotal: null });
    }
  }
  return taken;
}

/** Put back the deltas Redis did not confirm, for the next round. */
function giveBack(table: LimiterTable, t: Taken): void {
  const d0 = t.pushed & 1 ? 0 : t.d0;
  const d1 = t.pushed & 2 ? 0 : t.d1;
  if ((d0 === 0 && d1 === 0) || !slotHoldsKey(table, t.slot, t.a, t.b)) return;
  const base = HEADER_WORDS + t.slot * WORDS_PER_SLOT;
  if (d0) Atomics.add(table.i32, base + W_DELTA0, d0);
  if (d1) Atomics.add(table.i32, base + W_DELTA1, d1);
  markDirty(table, t.slot);
}

const ignore = () => {};

async function syncRound(
  table: LimiterTable,
  registry: LimitRegistry,
  redis: RedisClient,
  cfg: RedisConfig,
  instanceId: string,
  now: number,
  deadAfter: number,
  gcraSeen: Map<string, { total: number; at: number }>,
): Promise<boolean> {
  if (redis.status !== "ready") return false;
  const taken = takeDirty(table, registry, now);
  const replies: Promise<unknown>[] = [];
  const prefix = cfg.key_prefix + "rl:";
  for (const t of taken) {
    const lim = t.lim;
    const base = `${prefix}${lim.id}:h${hashHex(t.a, t.b)}`;
    const w = lim.windowMs;
    // Delta word of a window index: its parity.
    const curBit = t.index & 1 ? 2 : 1;
    switch (lim.algorithm) {
      case "fixed_window":
      case "sliding_window": {
        // The parity word of the current window holds this window's deltas; the other, the previous window's.
        const cur = t.index & 1 ? t.d1 : t.d0;
        const prev = t.index & 1 ? t.d0 : t.d1;
        const curKey = `${base}:${t.index}`;
        const prevKey = `${base}:${t.index - 1}`;
        replies.push(redis.incrby(curKey, cur).then((v) => ((t.total = v), (t.pushed |= curBit))));
        redis.pexpire(curKey, 2 * w + 1000).catch(ignore);
        // Push late deltas of the previous window; otherwise just read its total (don't create the key).
        if (prev > 0) {
          replies.push(redis.incrby(prevKey, prev).then((v) => ((t.prevTotal = v), (t.pushed |= 3 - curBit))));
          redis.pexpire(prevKey, w + 1000).catch(ignore);
        } else if (lim.algorithm === "sliding_window") {
          replies.push(redis.get(prevKey).then((v) => (t.prevTotal = v)));
        }
        break;
      }
      case "token_bucket":
      case "leaky_bucket":
        t.gcraKey = base;
        replies.push(redis.incrby(base, t.d0 + t.d1).then((v) => ((t.total = v), (t.pushed = 3))));
        redis.pexpire(base, Math.max(2 * w, 10_000)).catch(ignore);
        break;
      case "concurrency": {
        const local = localInFlight(table, t.slot, now);
        replies.push(redis.hset(base, instanceId, `${local}:${now}`));
        redis.pexpire(base, lim.leaseMs).catch(ignore);
        replies.push(redis.hgetall(base).then((v) => ((t.total = v), (t.pushed = 3))));
        if (local > 0) markDirty(table, t.slot); // keep publishing while requests are in flight
        break;
      }
    }
  }
  let live = 0;
  replies.push(beat(redis, cfg, instanceId, now, deadAfter).then((n) => (live = n)));
  const settled = await Promise.allSettled(replies);
  const ok = settled.every((r) => r.status === "fulfilled");
  if (live > 0) Atomics.store(table.i32, H_LIVE_INSTANCES, live);
  for (const t of taken) {
    giveBack(table, t);
    if (t.pushed !== 0) fold(table, t, now, instanceId, deadAfter, gcraSeen);
  }
  return ok;
}

function fold(
  table: LimiterTable,
  t: Taken,
  now: number,
  instanceId: string,
  deadAfter: number,
  gcraSeen: Map<string, { total: number; at: number }>,
): void {
  if (!slotHoldsKey(table, t.slot, t.a, t.b)) return;
  const lim = t.lim;
  const base = HEADER_WORDS + t.slot * WORDS_PER_SLOT;
  switch (lim.algorithm) {
    case "fixed_window":
    case "sliding_window": {
      const w = lim.windowMs;
      // A window total is folded only when this window's push was confirmed.
      if (t.total === null) return;
      const curTotal = Number(t.total);
      const prevTotal = Number(t.prevTotal ?? 0);
      // Admissions made here since the deltas were taken are in no total yet.
      const since = Atomics.load(table.i32, base + W_DELTA0 + (t.index & 1));
      const expiryCur = Math.ceil(((t.index + (lim.algorithm === "sliding_window" ? 2 : 1)) * w) / 1000);
      const curWord = lim.algorithm === "fixed_window" ? W_STATE0 : W_STATE0 + (t.index & 1);
      foldWindowWord(table, t.slot, curWord, t.index, curTotal + since, expiryCur, now);
      if (lim.algorithm === "sliding_window" && prevTotal > 0) {
        foldWindowWord(table, t.slot, W_STATE0 + ((t.index - 1) & 1), t.index - 1, prevTotal, expiryCur, now);
      }
      break;
    }
    case "token_bucket":
    case "leaky_bucket": {
      const total = Number(t.total);
      const pushed = t.d0 + t.d1;
      const seen = gcraSeen.get(t.gcraKey!);
      // First sight (or the counter expired and restarted): nothing to attribute yet.
      const remote = seen && total - pushed >= seen.total ? total - pushed - seen.total : 0;
      gcraSeen.set(t.gcraKey!, { total, at: now });
      foldGcra(table, t.slot, lim, remote, now);
      break;
    }
    case "concurrency": {
      const fields = (t.total ?? {}) as Record<string, string>;
      let others = 0;
      for (const id in fields) {
        if (id === instanceId) continue;
        const [count, at] = fields[id]!.split(":");
        if (now - Number(at) <= deadAfter) others += Number(count) || 0;
      }
      foldRemoteInFlight(table, t.slot, others);
      break;
    }
  }
}
