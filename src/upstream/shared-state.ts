import type { UpstreamConfig } from "../config/types.ts";
import { HALF_OPEN, breakerStateName, type BreakerStateName } from "./breaker.ts";
import {
  BUDGET_BUCKETS,
  BUDGET_BUCKET_INTS,
  H_MAGIC,
  H_TARGETS,
  H_UPSTREAMS,
  H_VERSION,
  MAGIC,
  NO_SECOND,
  StateLayout,
  T_BREAKER,
  T_EWMA_US,
  T_FAILURES_LO,
  T_HC_LAST,
  T_HEALTH,
  T_IN_FLIGHT,
  T_REQUESTS_LO,
  TARGET_INTS,
  U_ATTEMPTS,
  U_BUDGET,
  U_GENERATION,
  VERSION,
  readCounter,
} from "./layout.ts";
import { passivelyDown } from "./passive.ts";
import { monotonicNow, toStamp } from "./time.ts";

/**
 * Per-target upstream state shared by the control plane (main thread) and
 * every data-plane worker: one SharedArrayBuffer, read and written with
 * Atomics only, no locks and no messages on the request path. Layout in
 * layout.ts; the field semantics live with their engines (breaker.ts,
 * passive.ts, retry-budget.ts, health-checker.ts, runtime.ts).
 *
 * Every target starts "up" whether or not it has an active health check, as
 * nginx does: a fresh gateway serves at once, and a down target is found by
 * its first failed checks (or by passive checks and the breaker).
 */

export interface TargetSnapshot {
  index: number;
  url: string;
  weight: number;
  backup: boolean;
  /** Active health (always "up" without health_check). */
  health: "up" | "down";
  /** Inside a passive fail_timeout. */
  passive: "ok" | "down";
  breaker: BreakerStateName;
  /** Health up, not passively down and breaker not open (ignores half-open permits). */
  available: boolean;
  in_flight: number;
  /** Latency EWMA, send to response head; 0 = never measured. */
  latency_ewma_ms: number;
  /** Total since allocation (or carried over from the previous config). */
  requests: number;
  failures: number;
  /** HTTP status of the last active check; null when never checked or it got no response. */
  check_status: number | null;
  /** Why the last active check got no response. */
  check_error: "connect" | "timeout" | null;
}

export interface UpstreamSnapshot {
  name: string;
  balancer: string;
  targets: TargetSnapshot[];
}

/**
 * Make the buffer for `upstreams` (main thread, once per config). With
 * `previous` (the running config's upstreams and buffer, on reload), state of
 * every target whose upstream name and URL are unchanged is carried over:
 * health, passive and breaker state, EWMA, counters, retry budget. In-flight
 * counts are not: requests in flight finish against the old buffer.
 */
export function allocateUpstreamState(
  upstreams: readonly UpstreamConfig[],
  previous?: { upstreams: readonly UpstreamConfig[]; sab: SharedArrayBuffer } | null,
): SharedArrayBuffer {
  const layout = new StateLayout(upstreams);
  const sab = new SharedArrayBuffer(layout.totalInts * 4);
  const i32 = new Int32Array(sab);
  i32[H_MAGIC] = MAGIC;
  i32[H_VERSION] = VERSION;
  i32[H_UPSTREAMS] = layout.upstreamCount;
  i32[H_TARGETS] = layout.targetCount;
  for (let u = 0; u < upstreams.length; u++) {
    // No bucket holds a second that can be inside the window (see retry-budget.ts).
    const budget = layout.upstreamBase(u) + U_BUDGET;
    for (let k = 0; k < BUDGET_BUCKETS; k++) i32[budget + k * BUDGET_BUCKET_INTS] = NO_SECOND;
    for (let t = 0; t < upstreams[u]!.targets.length; t++) i32[layout.targetBase(u, t) + T_HEALTH] = 1;
  }
  if (previous) {
    new UpstreamStateView(sab, upstreams).carryOverFrom(new UpstreamStateView(previous.sab, previous.upstreams));
  }
  return sab;
}

/** Typed view over the buffer; both planes build one from (buffer, the same upstream configs). */
export class UpstreamStateView {
  readonly sab: SharedArrayBuffer;
  readonly i32: Int32Array;
  readonly layout: StateLayout;
  readonly upstreams: readonly UpstreamConfig[];

  /** Throws when the buffer was not made by allocateUpstreamState for these upstreams. */
  constructor(sab: SharedArrayBuffer, upstreams: readonly UpstreamConfig[]) {
    const layout = new StateLayout(upstreams);
    if (!(sab instanceof SharedArrayBuffer) || sab.byteLength !== layout.totalInts * 4) {
      throw new Error(`upstream state buffer does not match the config (${layout.totalInts * 4} bytes expected)`);
    }
    const i32 = new Int32Array(sab);
    if (
      i32[H_MAGIC] !== MAGIC ||
      i32[H_VERSION] !== VERSION ||
      i32[H_UPSTREAMS] !== layout.upstreamCount ||
      i32[H_TARGETS] !== layout.targetCount
    ) {
      throw new Error("upstream state buffer was not made by allocateUpstreamState for this config");
    }
    this.sab = sab;
    this.i32 = i32;
    this.layout = layout;
    this.upstreams = upstreams;
  }

  /** Index of the upstream's generation word (bumped on every usability change). */
  generationIndex(u: number): number {
    return this.layout.upstreamBase(u) + U_GENERATION;
  }

  /** Index of the upstream's attempt counter (retry budget). */
  attemptsIndex(u: number): number {
    return this.layout.upstreamBase(u) + U_ATTEMPTS;
  }

  /** Index of the upstream's retry-budget buckets. */
  budgetIndex(u: number): number {
    return this.layout.upstreamBase(u) + U_BUDGET;
  }

  /** Index of target t's fields (add a T_* constant). */
  targetBase(u: number, t: number): number {
    return this.layout.targetBase(u, t);
  }

  /** Active health of a target. */
  isHealthy(u: number, t: number): boolean {
    return Atomics.load(this.i32, this.targetBase(u, t) + T_HEALTH) === 1;
  }

  /**
   * Set a target's active health (the health checker's write; also usable
   * from the admin API to take a target out by hand). Returns whether it changed.
   */
  setHealth(u: number, t: number, up: boolean): boolean {
    const at = this.targetBase(u, t) + T_HEALTH;
    const want = up ? 1 : 0;
    if (Atomics.exchange(this.i32, at, want) === want) return false;
    Atomics.add(this.i32, this.generationIndex(u), 1);
    return true;
  }

  /** Plain objects for the admin API and metrics; reads each field atomically (the whole is not one instant). */
  snapshot(now: number = monotonicNow()): UpstreamSnapshot[] {
    const i32 = this.i32;
    const stamp = toStamp(now);
    return this.upstreams.map((up, u) => ({
      name: up.name,
      balancer: up.balancer,
      targets: up.targets.map((target, t): TargetSnapshot => {
        const off = this.targetBase(u, t);
        const health = Atomics.load(i32, off + T_HEALTH) === 1;
        const passiveDown = passivelyDown(i32, off, stamp);
        const breaker = breakerStateName(i32, off);
        const last = Atomics.load(i32, off + T_HC_LAST);
        return {
          index: t,
          url: target.url,
          weight: target.weight,
          backup: target.backup,
          health: health ? "up" : "down",
          passive: passiveDown ? "down" : "ok",
          breaker,
          available: health && !passiveDown && breaker !== "open",
          in_flight: Atomics.load(i32, off + T_IN_FLIGHT),
          latency_ewma_ms: Atomics.load(i32, off + T_EWMA_US) / 1000,
          requests: readCounter(i32, off + T_REQUESTS_LO),
          failures: readCounter(i32, off + T_FAILURES_LO),
          check_status: last > 0 ? last : null,
          check_error: last === -1 ? "connect" : last === -2 ? "timeout" : null,
        };
      }),
    }));
  }

  /** Copy state of targets that exist in both (same upstream name, same URL) from `old`; before any worker uses this buffer. */
  carryOverFrom(old: UpstreamStateView): void {
    for (let u = 0; u < this.upstreams.length; u++) {
      const up = this.upstreams[u]!;
      const ou = old.upstreams.findIndex((o) => o.name === up.name);
      if (ou < 0) continue;
      // The attempt counter and the budget buckets that refer to it.
      const from = old.attemptsIndex(ou);
      const to = this.attemptsIndex(u);
      for (let k = 0; k <= BUDGET_BUCKETS * BUDGET_BUCKET_INTS; k++) {
        Atomics.store(this.i32, to + k, Atomics.load(old.i32, from + k));
      }
      const taken = new Set<number>();
      for (let t = 0; t < up.targets.length; t++) {
        const ot = old.upstreams[ou]!.targets.findIndex((o, k) => !taken.has(k) && o.url === up.targets[t]!.url);
        if (ot < 0) continue;
        taken.add(ot);
        const src = old.targetBase(ou, ot);
        const dst = this.targetBase(u, t);
        for (let f = 0; f < TARGET_INTS; f++) {
          if (f !== T_IN_FLIGHT) Atomics.store(this.i32, dst + f, Atomics.load(old.i32, src + f));
        }
        // Half-open permits out now report to the old buffer: hand them out afresh here.
        const word = Atomics.load(this.i32, dst + T_BREAKER);
        if ((word & 3) === HALF_OPEN) Atomics.store(this.i32, dst + T_BREAKER, HALF_OPEN);
      }
    }
  }
}
