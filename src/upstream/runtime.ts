import type { BalanceRequest } from "./types.ts";
import type { TargetConfig, UpstreamConfig } from "../config/types.ts";
import { createBalancer, newCandidates, type Balancer, type Candidates, type TargetLoad } from "./balancers/index.ts";
import { CircuitBreaker } from "./breaker.ts";
import { T_EWMA_AT, T_EWMA_US, T_FAILURES_LO, T_HEALTH, T_IN_FLIGHT, T_REQUESTS_LO, incrementCounter } from "./layout.ts";
import { PassiveHealth } from "./passive.ts";
import { RetryBudget } from "./retry-budget.ts";
import { UpstreamStateView } from "./shared-state.ts";
import { recordLatency } from "./latency.ts";
import { monotonicNow, since, toStamp, type Clock } from "./time.ts";
import type { UpstreamRuntime } from "./types.ts";
import { ADMIT, USABLE, WAIT_FOR_CHANGE } from "./usability.ts";
import { validateUpstream } from "./validate.ts";

/** One tier of targets (primaries, or backups) with its balancer and candidate sets. */
interface Tier {
  readonly members: Int32Array;
  readonly balancer: Balancer;
  /** Usable targets as of the last refresh. */
  readonly base: Candidates;
  /** Per-pick working copy when targets are excluded or need admission. */
  readonly scratch: Candidates;
  /** Some base candidate needs admission (half-open, passive probe). */
  anyAdmit: boolean;
}

/**
 * An upstream as one worker sees it. State that must agree across workers
 * (health, passive, breaker, in-flight, EWMA, budget) is in the shared buffer;
 * what is per worker is the balancer position and a cache of which targets are
 * usable, rebuilt only when the upstream's generation word changes (any
 * usability change bumps it) or a timed state (open breaker, passive
 * fail_timeout) runs out. So the common pick is one Atomics.load, a compare,
 * and the balancer: no clock read, no allocation.
 *
 * Every pick() that returns a target must be followed by onStart() and
 * onEnd(): a half-open pick holds a probe permit until its onEnd().
 */
export class Upstream implements UpstreamRuntime, TargetLoad {
  readonly name: string;
  readonly config: UpstreamConfig;
  readonly targets: readonly TargetConfig[];
  /** The shared state (TargetLoad), and each target's index in it. */
  readonly state: Int32Array;
  private readonly offsets: Int32Array;
  /** TargetLoad: each target's in-flight count's index in `state`. */
  readonly inFlightIndex: Int32Array;
  private readonly generation: number;
  private readonly now: Clock;
  private readonly breaker: CircuitBreaker | null;
  private readonly passive: PassiveHealth | null;
  /** The default passive check: only connect failures count, and any answer is a success. */
  private readonly passiveConnectOnly: boolean;
  private readonly budget: RetryBudget | null;
  private readonly primary: Tier;
  private readonly backup: Tier | null;
  /** admit[i] = 1 when the last refresh found target i usable only through admission. */
  private readonly admit: Uint8Array;
  private readonly decayLatency: boolean;
  /** A failed request counts at least this latency (a refused connect is fast but not good). */
  private readonly failurePenaltyMs: number;
  private seenGeneration = Number.NaN;
  private hasDeadline = false;
  private deadline = 0;

  constructor(config: UpstreamConfig, state: UpstreamStateView, upstreamIndex: number, now: Clock = monotonicNow) {
    validateUpstream(config, upstreamIndex);
    const mine = state.upstreams[upstreamIndex];
    if (!mine || mine.name !== config.name || mine.targets.length !== config.targets.length) {
      throw new Error(`upstream state has no upstream "${config.name}" at index ${upstreamIndex}`);
    }
    this.name = config.name;
    this.config = config;
    this.targets = config.targets;
    this.state = state.i32;
    this.now = now;
    const n = config.targets.length;
    this.offsets = new Int32Array(n);
    for (let t = 0; t < n; t++) this.offsets[t] = state.targetBase(upstreamIndex, t);
    this.inFlightIndex = this.offsets.map((off) => off + T_IN_FLIGHT);
    this.generation = state.generationIndex(upstreamIndex);
    const cb = config.circuit_breaker;
    this.breaker = cb
      ? new CircuitBreaker(this.state, this.generation, {
          failures: cb.failures,
          openFor: cb.open_for,
          halfOpenRequests: cb.half_open_requests,
          probeTimeout: Math.max(cb.open_for, config.timeouts.connect + config.timeouts.read),
        })
      : null;
    const pv = config.passive;
    this.passive = pv && pv.max_fails > 0 ? new PassiveHealth(this.state, this.generation, pv.max_fails, pv.fail_timeout) : null;
    this.passiveConnectOnly = pv?.connect_only === true;
    const rb = config.retry_budget;
    this.budget = config.retries > 0 ? new RetryBudget(this.state, state.attemptsIndex(upstreamIndex), state.budgetIndex(upstreamIndex), rb.ratio, rb.min_per_second, now) : null;
    this.admit = new Uint8Array(n);
    this.decayLatency = config.balancer === "least_time";
    this.failurePenaltyMs = config.timeouts.connect;
    const primaries: number[] = [];
    const backups: number[] = [];
    for (let t = 0; t < n; t++) (config.targets[t]!.backup ? backups : primaries).push(t);
    this.primary = this.tier(primaries, upstreamIndex);
    this.backup = backups.length > 0 ? this.tier(backups, upstreamIndex) : null;
  }

  pick(ctx: BalanceRequest, exclude: readonly number[] | null): number {
    const g = Atomics.load(this.state, this.generation);
    if (g !== this.seenGeneration || (this.hasDeadline && since(toStamp(this.now()), this.deadline) >= 0)) this.refresh(g);
    const i = this.pickFrom(this.primary, ctx, exclude);
    // Backups only when no primary is usable (or every usable one was tried).
    if (i >= 0 || this.backup === null) return i;
    return this.pickFrom(this.backup, ctx, exclude);
  }

  onStart(i: number): void {
    const off = this.offsets[i]!;
    Atomics.add(this.state, off + T_IN_FLIGHT, 1);
    incrementCounter(this.state, off + T_REQUESTS_LO);
    if (this.budget !== null) this.budget.recordAttempt();
  }

  onEnd(i: number, failed: boolean, latencyMs: number): void {
    this.end(i, failed, false, latencyMs);
  }

  onConnectFailure(i: number, latencyMs: number): void {
    if (this.budget !== null) this.budget.forgetAttempt();
    this.end(i, true, true, latencyMs);
  }

  onAbandon(i: number): void {
    const off = this.offsets[i]!;
    Atomics.sub(this.state, off + T_IN_FLIGHT, 1);
    // A half-open probe that will not report gives its permit to the next request. A passive
    // probe is not given back: the target stays out until fail_timeout, as after a failure.
    if (this.breaker !== null) this.breaker.onAbandon(off);
  }

  private end(i: number, failed: boolean, connectFailed: boolean, latencyMs: number): void {
    const i32 = this.state;
    const off = this.offsets[i]!;
    Atomics.sub(i32, off + T_IN_FLIGHT, 1);
    // The clock is read only when something time-based happens.
    const nowMs = failed || this.decayLatency ? this.now() : 0;
    const now = toStamp(nowMs);
    recordLatency(i32, off, failed && latencyMs < this.failurePenaltyMs ? this.failurePenaltyMs : latencyMs, this.decayLatency, now);
    if (this.passive !== null) {
      // The connect-only check takes any answer (a 500, a read timeout) as proof the target is reachable.
      if (failed && (connectFailed || !this.passiveConnectOnly)) this.passive.onFailure(off, now);
      else this.passive.onSuccess(off);
    }
    if (failed) {
      incrementCounter(i32, off + T_FAILURES_LO);
      if (this.budget !== null) this.budget.noteFailure(nowMs);
      if (this.breaker !== null) this.breaker.onFailure(off, now);
    } else if (this.breaker !== null) this.breaker.onSuccess(off);
  }

  takeRetry(): boolean {
    return this.budget !== null && this.budget.takeRetry();
  }

  /**
   * Seconds until some target may be usable again: the soonest open breaker
   * half-opens or passive fail_timeout ends (of targets whose active health
   * is up). 0 when no such wait is known. For Retry-After on a 503.
   */
  retryAfterSeconds(): number {
    const now = toStamp(this.now());
    let best = Infinity;
    for (let i = 0; i < this.offsets.length; i++) {
      const off = this.offsets[i]!;
      if (Atomics.load(this.state, off + T_HEALTH) === 0) continue;
      const b = this.breaker === null ? -1 : this.breaker.msUntilHalfOpen(off, now);
      const p = this.passive === null ? -1 : this.passive.msUntilProbe(off, now);
      const wait = b > p ? b : p;
      if (wait >= 0 && wait < best) best = wait;
    }
    return best === Infinity ? 0 : Math.max(1, Math.ceil(best / 1000));
  }

  /** TargetLoad: requests in flight to target i across all workers. */
  inFlight(i: number): number {
    return Atomics.load(this.state, this.offsets[i]! + T_IN_FLIGHT);
  }

  /** TargetLoad: latency EWMA in µs as last stored (0 = never measured). */
  latencyUs(i: number): number {
    return Atomics.load(this.state, this.offsets[i]! + T_EWMA_US);
  }

  /** TargetLoad: stamp of the EWMA's last sample (least_time only). */
  latencyStamp(i: number): number {
    return Atomics.load(this.state, this.offsets[i]! + T_EWMA_AT);
  }

  private tier(members: number[], upstreamIndex: number): Tier {
    let balancer: Balancer;
    try {
      balancer = createBalancer(this.config, members, this);
    } catch (e) {
      throw new Error(`upstreams[${upstreamIndex}]: ${(e as Error).message}`);
    }
    const n = this.targets.length;
    return { members: Int32Array.from(members), balancer, base: newCandidates(n), scratch: newCandidates(n), anyAdmit: false };
  }

  /** Re-read every target's usability into the tiers' base candidates. */
  private refresh(generation: number): void {
    this.seenGeneration = generation;
    const now = toStamp(this.now());
    let wait = WAIT_FOR_CHANGE;
    for (let k = 0; k < 2; k++) {
      const tier = k === 0 ? this.primary : this.backup;
      if (tier === null) continue;
      const base = tier.base;
      base.count = 0;
      tier.anyAdmit = false;
      for (let m = 0; m < tier.members.length; m++) {
        const i = tier.members[m]!;
        const c = this.check(this.offsets[i]!, now);
        base.usable[i] = 0;
        this.admit[i] = 0;
        if (c === USABLE || c === ADMIT) {
          base.list[base.count++] = i;
          base.usable[i] = 1;
          if (c === ADMIT) {
            this.admit[i] = 1;
            tier.anyAdmit = true;
          }
        } else if (c < wait) {
          wait = c;
        }
      }
    }
    this.hasDeadline = wait !== WAIT_FOR_CHANGE;
    this.deadline = (now + wait) | 0;
  }

  private check(off: number, now: number): number {
    if (Atomics.load(this.state, off + T_HEALTH) === 0) return WAIT_FOR_CHANGE;
    let result = USABLE;
    if (this.passive !== null) {
      const p = this.passive.check(off, now);
      if (p > 0) return p;
      if (p === ADMIT) result = ADMIT;
    }
    if (this.breaker !== null) {
      const b = this.breaker.check(off, now);
      if (b > 0) return b;
      if (b === ADMIT) result = ADMIT;
    }
    return result;
  }

  private pickFrom(tier: Tier, ctx: BalanceRequest, exclude: readonly number[] | null): number {
    const base = tier.base;
    if (base.count === 0) return -1;
    const noExclude = exclude === null || exclude.length === 0;
    if (noExclude && !tier.anyAdmit) return tier.balancer.pick(base, ctx);
    // Slow path (retries, half-open, probes): work on a copy without the excluded targets.
    const s = tier.scratch;
    let n = 0;
    for (let k = 0; k < base.count; k++) {
      const i = base.list[k]!;
      if (!noExclude && exclude!.includes(i)) continue;
      s.list[n++] = i;
      s.usable[i] = 1;
    }
    s.count = n;
    let chosen = -1;
    while (s.count > 0) {
      const i = tier.balancer.pick(s, ctx, !noExclude);
      if (i < 0) break;
      if (this.admit[i] === 0 || this.admitTarget(this.offsets[i]!)) {
        chosen = i;
        break;
      }
      // Another worker took the last permit or the probe: re-read states on the
      // next pick, so this target waits out of the candidates instead of
      // failing admission on every pick.
      this.seenGeneration = Number.NaN;
      removeCandidate(s, i);
    }
    for (let k = 0; k < s.count; k++) s.usable[s.list[k]!] = 0;
    s.count = 0;
    return chosen;
  }

  /** The side-effecting step for a target that needed admission: a breaker permit, then the passive probe. */
  private admitTarget(off: number): boolean {
    const now = toStamp(this.now());
    if (this.breaker !== null && !this.breaker.admit(off, now)) return false;
    if (this.passive !== null && !this.passive.claimProbe(off, now)) {
      if (this.breaker !== null) this.breaker.release(off);
      return false;
    }
    return true;
  }
}

function removeCandidate(c: Candidates, i: number): void {
  const list = c.list;
  let k = 0;
  while (k < c.count && list[k] !== i) k++;
  for (; k < c.count - 1; k++) list[k] = list[k + 1]!;
  c.count--;
  c.usable[i] = 0;
}

/**
 * The runtime of upstream `upstreamIndex` for this thread. `state` is a view
 * over the buffer from allocateUpstreamState, built from the same upstream
 * list. Throws ConfigError on settings it cannot run with.
 */
export function createUpstreamRuntime(
  config: UpstreamConfig,
  state: UpstreamStateView,
  upstreamIndex: number,
  now: Clock = monotonicNow,
): Upstream {
  return new Upstream(config, state, upstreamIndex, now);
}

/** Every upstream's runtime for one worker, in config order, over the shared buffer. */
export function createUpstreamRuntimes(upstreams: readonly UpstreamConfig[], sab: SharedArrayBuffer, now: Clock = monotonicNow): Upstream[] {
  const view = new UpstreamStateView(sab, upstreams);
  return upstreams.map((u, i) => new Upstream(u, view, i, now));
}

/** Seconds for Retry-After when pick() returned -1 (see Upstream.retryAfterSeconds); 0 for other runtimes. */
export function retryAfterSeconds(runtime: UpstreamRuntime): number {
  return runtime instanceof Upstream ? runtime.retryAfterSeconds() : 0;
}
