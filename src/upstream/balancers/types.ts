import type { BalanceRequest } from "../types.ts";

/**
 * The targets a balancer may choose from for this pick: already filtered to
 * the ones usable now (health, passive, breaker, not yet tried) and to one
 * tier (primaries, or backups when no primary is usable). Reused across picks:
 * a balancer reads it and never keeps it.
 */
export interface Candidates {
  /** Target indexes (into the upstream's targets), in config order; entries [0, count) are valid. */
  readonly list: Int32Array;
  count: number;
  /** usable[i] === 1 exactly when target i is in list[0, count). */
  readonly usable: Uint8Array;
}

/** Chooses one of the candidates. Built once per upstream and worker; pick() allocates nothing. */
export interface Balancer {
  /** A target index from `c.list[0, c.count)`, or -1 only when c.count is 0. `retry`: another try of a request whose earlier targets are excluded from `c`. */
  pick(c: Candidates, ctx: BalanceRequest, retry?: boolean): number;
}

/** Shared, cross-worker load figures the load-aware balancers read. */
export interface TargetLoad {
  /** The shared state, and per target the index of its in-flight count in it (for tight loops over many targets). */
  readonly state: Int32Array;
  readonly inFlightIndex: Int32Array;
  /** Requests in flight to target i, across all workers. */
  inFlight(i: number): number;
  /** Latency EWMA of target i in µs as last stored; 0 = never measured. */
  latencyUs(i: number): number;
  /** Stamp (see time.ts) of target i's last latency sample, to age the EWMA by. */
  latencyStamp(i: number): number;
}

export function newCandidates(targetCount: number): Candidates {
  return { list: new Int32Array(targetCount), count: 0, usable: new Uint8Array(targetCount) };
}
