import type { Redis } from "ioredis";
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
import { createRedisClient } from "./connection.ts";

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
 * to 0), pushes them and pulls cluster totals in one pipelined round trip, and
 * folds the totals into the local slots (counts only ever rise):
 *   fixed/sliding: INCRBY <p>rl:<id>:h<hash>:<window index> → cluster count of the window
 *   token/leaky:   INCRBY <p>rl:<id>:h<hash> → cumulative admissions; the growth not
 *                  ours is applied to the local TAT as remote admissions
 *   concurrency:   HSET <p>rl:<id>:h<hash> <instance> "<in-flight>:<ms>"; the others'
 *                  fresh fields are summed into the slot's remote word
 * Keys are the 64-bit key hash (hex): the slot table keeps no key text, and
 * the hash seeds are derived from key_prefix in sync mode so every instance
 * names a key alike. Every key has a PEXPIRE.
 *
 * Over-admission bound (sync): an instance learns of the others' admissions
 * one round late at most, so beyond the limit the cluster admits at most what
 * the instances admit between two rounds:
 *   excess ≤ Σ over instances of admissions in (sync_interval + round trip)
 *          ≈ per-instance request rate × (sync_interval + RTT) × instances,
 * and never more than (instances − 1) × limit. A key this instance has not seen
 * yet is learned at its first sync round, so the same bound covers restarts.
 *
 * When a round fails (Redis down, timeout), the taken deltas are put back so
 * they are pushed when Redis returns, and the header says "down": workers then
 * apply on_error (local share / allow / deny) until a round succeeds again.
 */

export interface LimiterSync {
  stop(): Promise<void>;
}

export interface SyncOptions {
  now?: () => number;
  /** Unique per gateway process; default random. */
  instanceId?: string;
}

interface Taken {
  slot: number;
  a: number;
  b: number;
  lim: CompiledLimit;
  index: number;
  d0: number;
  d1: number;
  /** Where this slot's replies start in the pipeline results. */
  at: number;
  /** Windows: reply index of the previous window's total. */
  atPrev: number;
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
    let ok = false;
    try {
      ok = cfg.mode === "sync" ? await syncRound(table, registry, redis, cfg, instanceId, now(), deadAfter, gcraSeen) : await beatOnly(table, redis, cfg, instanceId, now(), deadAfter);
    } catch {
      ok = false; // never let the loop die: the next round retries
    }
    Atomics.store(table.i32, H_REDIS_STATE, ok ? REDIS_UP : REDIS_DOWN);
    Atomics.add(table.i32, H_SYNC_ROUNDS, 1);
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

function beatCommands(p: ReturnType<Redis["pipeline"]>, cfg: RedisConfig, id: string, now: number, deadAfter: number): void {
  const key = cfg.key_prefix + "instances";
  p.zadd(key, now, id);
  p.zremrangebyscore(key, "-inf", now - deadAfter);
  p.zcard(key);
  p.pexpire(key, deadAfter * 2);
}

async function beatOnly(table: LimiterTable, redis: Redis, cfg: RedisConfig, id: string, now: number, deadAfter: number): Promise<boolean> {
  if (redis.status !== "ready") return false;
  const p = redis.pipeline();
  beatCommands(p, cfg, id, now, deadAfter);
  const res = await p.exec().catch(() => null);
  if (!res || res.some(([err]) => err)) return false;
  Atomics.store(table.i32, H_LIVE_INSTANCES, Number(res[2]![1]) || 1);
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
      taken.push({ slot, a, b, lim, index: Math.floor(now / lim.windowMs), d0, d1, at: 0, atPrev: 0 });
    }
  }
  return taken;
}

/** A failed round: put the deltas back for the next one. */
function giveBack(table: LimiterTable, taken: Taken[]): void {
  for (const t of taken) {
    if (!slotHoldsKey(table, t.slot, t.a, t.b)) continue;
    const base = HEADER_WORDS + t.slot * WORDS_PER_SLOT;
    if (t.d0) Atomics.add(table.i32, base + W_DELTA0, t.d0);
    if (t.d1) Atomics.add(table.i32, base + W_DELTA1, t.d1);
    markDirty(table, t.slot);
  }
}

async function syncRound(
  table: LimiterTable,
  registry: LimitRegistry,
  redis: Redis,
  cfg: RedisConfig,
  instanceId: string,
  now: number,
  deadAfter: number,
  gcraSeen: Map<string, { total: number; at: number }>,
): Promise<boolean> {
  if (redis.status !== "ready") return false;
  const taken = takeDirty(table, registry, now);
  const p = redis.pipeline();
  let at = 0;
  const prefix = cfg.key_prefix + "rl:";
  for (const t of taken) {
    t.at = at;
    const lim = t.lim;
    const base = `${prefix}${lim.id}:h${hashHex(t.a, t.b)}`;
    const w = lim.windowMs;
    switch (lim.algorithm) {
      case "fixed_window":
      case "sliding_window": {
        // The parity word of the current window holds this window's deltas; the other, the previous window's.
        const cur = t.index & 1 ? t.d1 : t.d0;
        const prev = t.index & 1 ? t.d0 : t.d1;
        p.incrby(`${base}:${t.index}`, cur).pexpire(`${base}:${t.index}`, 2 * w + 1000);
        at += 2;
        t.atPrev = at;
        // Push late deltas of the previous window; otherwise just read its total (don't create the key).
        if (prev > 0) {
          p.incrby(`${base}:${t.index - 1}`, prev).pexpire(`${base}:${t.index - 1}`, w + 1000);
          at += 2;
        } else if (lim.algorithm === "sliding_window") {
          p.get(`${base}:${t.index - 1}`);
          at += 1;
        } else t.atPrev = -1;
        break;
      }
      case "token_bucket":
      case "leaky_bucket":
        t.gcraKey = base;
        p.incrby(base, t.d0 + t.d1).pexpire(base, Math.max(2 * w, 10_000));
        at += 2;
        break;
      case "concurrency": {
        const local = localInFlight(table, t.slot, now);
        p.hset(base, instanceId, `${local}:${now}`).pexpire(base, lim.leaseMs).hgetall(base);
        at += 3;
        if (local > 0) markDirty(table, t.slot); // keep publishing while requests are in flight
        break;
      }
    }
  }
  beatCommands(p, cfg, instanceId, now, deadAfter);
  const res = await p.exec().catch(() => null);
  if (!res || res.some(([err]) => err)) {
    giveBack(table, taken);
    return false;
  }
  Atomics.store(table.i32, H_LIVE_INSTANCES, Number(res[at + 2]![1]) || 1);
  for (const t of taken) fold(table, t, res, now, instanceId, deadAfter, gcraSeen);
  return true;
}

function fold(
  table: LimiterTable,
  t: Taken,
  res: [Error | null, unknown][],
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
      const curTotal = Number(res[t.at]![1]);
      const prevTotal = t.atPrev < 0 ? 0 : Number(res[t.atPrev]![1] ?? 0);
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
      const total = Number(res[t.at]![1]);
      const pushed = t.d0 + t.d1;
      const seen = gcraSeen.get(t.gcraKey!);
      // First sight (or the counter expired and restarted): nothing to attribute yet.
      const remote = seen && total - pushed >= seen.total ? total - pushed - seen.total : 0;
      gcraSeen.set(t.gcraKey!, { total, at: now });
      foldGcra(table, t.slot, lim, remote, now);
      break;
    }
    case "concurrency": {
      const fields = (res[t.at + 2]![1] ?? {}) as Record<string, string>;
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
