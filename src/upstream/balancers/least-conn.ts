import type { BalanceRequest } from "../types.ts";
import type { TargetConfig } from "../../config/types.ts";
import type { Balancer, Candidates, TargetLoad } from "./types.ts";

/**
 * Fewest requests in flight relative to weight (nginx least_conn compares
 * conns/weight), counted across all workers through the shared state. Ties go
 * round robin: the scan starts one further along each pick and only a
 * strictly lower load replaces the best, so equal targets take turns.
 */
export class LeastConnBalancer implements Balancer {
  /** 1 / weight, so the scan multiplies instead of dividing. */
  private readonly inverseWeights: Float64Array;
  private readonly state: Int32Array;
  private readonly inFlightIndex: Int32Array;
  private next: number;

  constructor(targets: readonly TargetConfig[], load: TargetLoad, start = Math.floor(Math.random() * 0x10000)) {
    this.inverseWeights = new Float64Array(targets.length);
    for (let i = 0; i < targets.length; i++) this.inverseWeights[i] = 1 / targets[i]!.weight;
    this.state = load.state;
    this.inFlightIndex = load.inFlightIndex;
    this.next = start;
  }

  pick(c: Candidates, _ctx: BalanceRequest): number {
    const count = c.count;
    if (count === 0) return -1;
    const list = c.list;
    const start = this.next % count;
    this.next = start + 1;
    const state = this.state;
    const at = this.inFlightIndex;
    const inverse = this.inverseWeights;
    let best = -1;
    let bestLoad = Infinity;
    for (let k = 0, j = start; k < count; k++) {
      const i = list[j]!;
      // A plain read: Int32 reads of shared memory never tear, and a count a
      // few ns stale is as good as an Atomics.load (which costs ~2x per target).
      const load = state[at[i]!]! * inverse[i]!;
      if (load < bestLoad) {
        bestLoad = load;
        best = i;
      }
      if (++j === count) j = 0;
    }
    return best;
  }
}
