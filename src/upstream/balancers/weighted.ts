import type { BalanceRequest } from "../types.ts";
import type { TargetConfig } from "../../config/types.ts";
import type { Balancer, Candidates } from "./types.ts";

/**
 * Smooth weighted round robin, nginx's interleaving: every pick adds each
 * candidate's weight to its running score, takes the highest score, and
 * subtracts the total weight from the winner. Weights 5,1,1 give
 * a a b a c a a, spreading the heavy target's turns instead of bunching them.
 * Scores are per worker, like nginx's per-worker peers.
 */
export class WeightedBalancer implements Balancer {
  private readonly weights: Float64Array;
  private readonly scores: Float64Array;

  constructor(targets: readonly TargetConfig[]) {
    this.weights = new Float64Array(targets.length);
    this.scores = new Float64Array(targets.length);
    for (let i = 0; i < targets.length; i++) this.weights[i] = targets[i]!.weight;
  }

  pick(c: Candidates, _ctx: BalanceRequest): number {
    const list = c.list;
    const weights = this.weights;
    const scores = this.scores;
    let best = -1;
    let bestScore = -Infinity;
    let total = 0;
    for (let k = 0; k < c.count; k++) {
      const i = list[k]!;
      const w = weights[i]!;
      const s = scores[i]! + w;
      scores[i] = s;
      total += w;
      if (s > bestScore) {
        bestScore = s;
        best = i;
      }
    }
    if (best >= 0) scores[best] = bestScore - total;
    return best;
  }
}
